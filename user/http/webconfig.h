/* --web.config.file (exporter-toolkit format): TLS server settings and basic auth users. */
#ifndef CW_WEBCONFIG_H
#define CW_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct cw_webconfig;

/* Reads, parses and validates the file completely: YAML keys, bcrypt hashes, and,
 * with TLS, that the key and certificate files are readable, valid PEM and belong
 * together. Relative cert/key paths are relative to the file's directory.
 * Returns 0, or -1 with a sentence in err. */
int cw_webconfig_load(const char *path, struct cw_webconfig **out, char *err, size_t errlen);
/* Same from memory; source names it in messages and anchors relative paths. */
int cw_webconfig_parse(const char *yaml, size_t len, const char *source,
		       struct cw_webconfig **out, char *err, size_t errlen);
void cw_webconfig_free(struct cw_webconfig *w);

/* TLS: NULL when the server speaks plain HTTP. PEM text of the cert and key, and
 * the GnuTLS priority string for the configured min/max_version. */
const char *cw_webconfig_cert_pem(const struct cw_webconfig *w);
const char *cw_webconfig_key_pem(const struct cw_webconfig *w);
const char *cw_webconfig_tls_priorities(const struct cw_webconfig *w);

/* Basic auth: true when users are configured and requests must authenticate. */
bool cw_webconfig_has_auth(const struct cw_webconfig *w);
/* Checks a user/password pair; thread-safe. Unknown users cost a bcrypt run too
 * (no user enumeration by timing); successful checks are remembered in a small
 * bounded cache keyed by a salted SHA-256 of the credentials, so regular scrapes
 * do not pay bcrypt each time. */
bool cw_webconfig_authenticate(struct cw_webconfig *w, const char *user, const char *password);

/* bcrypt ($2a$/$2b$/$2y$) check of password against hash; constant-time compare. */
bool cw_bcrypt_verify(const char *password, const char *hash);

#endif
