/* Web config (exporter-toolkit YAML): TLS cert/key/versions and bcrypt basic auth users. */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "http/webconfig.h"
#include "lib/file.h"
#include "lib/yaml_depth.h"

#define MAX_FILE_BYTES (1 << 20)
#define AUTH_CACHE_SLOTS 64
#define AUTH_KEY_LEN 32 /* SHA-256 */

#define BCRYPT_MIN_COST 4
#define BCRYPT_MAX_COST 31

struct user {
	char *name;
	char *hash;
};

struct cw_webconfig {
	char *source;
	char *dir;          /* directory of the file, for relative paths */
	char *cert_file;
	char *key_file;
	char *cert_pem;
	char *key_pem;
	int min_version;    /* 10..13 for TLS 1.0..1.3 */
	int max_version;
	char priorities[128];
	struct user *users;
	size_t nusers;
	/* Checked for unknown users: same cost as the most expensive real hash, so
	 * the time taken does not tell which user names exist. */
	char dummy_hash[61];

	pthread_mutex_t lock; /* guards the auth cache */
	unsigned char salt[16];
	unsigned char cache[AUTH_CACHE_SLOTS][AUTH_KEY_LEN];
	size_t ncached;
	size_t next_slot;
};

/* ---- small helpers ------------------------------------------------------ */

static void set_err(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static bool ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* Every file the web config names goes through here: regular files only. */
static int read_file(const char *path, char **out, char *err, size_t errlen)
{
	char why[128];
	size_t len;
	if (cw_read_regular_file(path, MAX_FILE_BYTES, 0, out, &len, why, sizeof(why)) == 0)
		return 0;
	set_err(err, errlen, "cannot read %s: %s", path, why);
	return -1;
}

/* ---- bcrypt ------------------------------------------------------------- */

static bool is_bcrypt(const char *h)
{
	return (!strncmp(h, "$2a$", 4) || !strncmp(h, "$2b$", 4) || !strncmp(h, "$2y$", 4)) && strlen(h) == 60;
}

bool cw_bcrypt_verify(const char *password, const char *hash)
{
	if (!is_bcrypt(hash))
		return false;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	const char *got = crypt_r(password, hash, cd);
	/* libxcrypt returns NULL or a "*0"/"*1" failure token for unusable settings. */
	bool ok = got && got[0] == '$' && strlen(got) == strlen(hash) && ct_equal(got, hash, strlen(hash));
	free(cd);
	return ok;
}

/* ---- auth cache --------------------------------------------------------- */

static int cred_key(const struct cw_webconfig *w, const char *user, const char *password,
		    unsigned char key[AUTH_KEY_LEN])
{
	size_t ul = strlen(user), pl = strlen(password);
	size_t n = sizeof(w->salt) + ul + 1 + pl;
	unsigned char *m = malloc(n);
	if (!m)
		return -1;
	memcpy(m, w->salt, sizeof(w->salt));
	memcpy(m + sizeof(w->salt), user, ul);
	m[sizeof(w->salt) + ul] = '\0'; /* separator: "ab"+"c" and "a"+"bc" differ */
	memcpy(m + sizeof(w->salt) + ul + 1, password, pl);
	int err = gnutls_hash_fast(GNUTLS_DIG_SHA256, m, n, key);
	gnutls_memset(m, 0, n);
	free(m);
	return err ? -1 : 0;
}

/* Scans every slot whatever matches, so the time does not tell which slot hit. */
static bool cache_hit(struct cw_webconfig *w, const unsigned char key[AUTH_KEY_LEN])
{
	bool hit = false;
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->ncached; i++)
		hit |= ct_equal(w->cache[i], key, AUTH_KEY_LEN);
	pthread_mutex_unlock(&w->lock);
	return hit;
}

static void cache_add(struct cw_webconfig *w, const unsigned char key[AUTH_KEY_LEN])
{
	pthread_mutex_lock(&w->lock);
	memcpy(w->cache[w->next_slot], key, AUTH_KEY_LEN);
	w->next_slot = (w->next_slot + 1) % AUTH_CACHE_SLOTS;
	if (w->ncached < AUTH_CACHE_SLOTS)
		w->ncached++;
	pthread_mutex_unlock(&w->lock);
}

bool cw_webconfig_has_auth(const struct cw_webconfig *w)
{
	return w && w->nusers > 0;
}

bool cw_webconfig_authenticate(struct cw_webconfig *w, const char *user, const char *password)
{
	if (!cw_webconfig_has_auth(w))
		return true;
	if (!user || !password)
		return false;
	unsigned char key[AUTH_KEY_LEN];
	bool keyed = cred_key(w, user, password, key) == 0;
	if (keyed && cache_hit(w, key))
		return true;
	const struct user *u = NULL;
	for (size_t i = 0; i < w->nusers; i++)
		if (!strcmp(w->users[i].name, user))
			u = &w->users[i];
	/* Unknown users cost one bcrypt run at the highest configured cost. */
	bool ok = cw_bcrypt_verify(password, u ? u->hash : w->dummy_hash) && u;
	if (ok && keyed)
		cache_add(w, key);
	return ok;
}

/* ---- TLS ---------------------------------------------------------------- */

static int parse_version(const char *s, int *out)
{
	static const struct { const char *name; int v; } versions[] = {
		{ "TLS10", 10 }, { "TLS11", 11 }, { "TLS12", 12 }, { "TLS13", 13 },
	};
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		if (!strcmp(s, versions[i].name)) {
			*out = versions[i].v;
			return 0;
		}
	}
	return -1;
}

static int build_priorities(struct cw_webconfig *w, char *err, size_t errlen)
{
	if (w->min_version > w->max_version) {
		set_err(err, errlen, "%s: tls_server_config: min_version TLS1%d is above max_version TLS1%d",
			w->source, w->min_version - 10, w->max_version - 10);
		return -1;
	}
	int n = snprintf(w->priorities, sizeof(w->priorities), "NORMAL:-VERS-ALL");
	for (int v = w->max_version; v >= w->min_version; v--)
		n += snprintf(w->priorities + n, sizeof(w->priorities) - (size_t)n, ":+VERS-TLS1.%d", v - 10);
	gnutls_priority_t prio;
	const char *where = NULL;
	int rc = gnutls_priority_init(&prio, w->priorities, &where);
	if (rc < 0) {
		set_err(err, errlen, "%s: TLS versions not supported by GnuTLS: %s", w->source, gnutls_strerror(rc));
		return -1;
	}
	gnutls_priority_deinit(prio);
	return 0;
}

static char *join_path(const char *dir, const char *p)
{
	if (p[0] == '/' || !dir)
		return strdup(p);
	size_t n = strlen(dir) + 1 + strlen(p) + 1;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s/%s", dir, p);
	return s;
}

/* Reads the PEM files and lets GnuTLS check them and that the key fits the cert. */
static int load_tls(struct cw_webconfig *w, char *err, size_t errlen)
{
	char *cert = join_path(w->dir, w->cert_file), *key = join_path(w->dir, w->key_file);
	gnutls_certificate_credentials_t cred = NULL;
	int ret = -1;
	if (!cert || !key) {
		set_err(err, errlen, "out of memory");
		goto cleanup;
	}
	if (read_file(cert, &w->cert_pem, err, errlen) || read_file(key, &w->key_pem, err, errlen))
		goto cleanup;
	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		set_err(err, errlen, "out of memory");
		goto cleanup;
	}
	gnutls_datum_t c = { (unsigned char *)w->cert_pem, (unsigned)strlen(w->cert_pem) };
	gnutls_datum_t k = { (unsigned char *)w->key_pem, (unsigned)strlen(w->key_pem) };
	int rc = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc < 0) {
		set_err(err, errlen, "%s: TLS certificate %s with key %s: %s", w->source, cert, key, gnutls_strerror(rc));
		goto cleanup;
	}
	ret = build_priorities(w, err, errlen);
cleanup:
	if (cred)
		gnutls_certificate_free_credentials(cred);
	free(cert);
	free(key);
	return ret;
}

/* ---- YAML --------------------------------------------------------------- */

struct parse {
	yaml_document_t *doc;
	struct cw_webconfig *w;
	char *err;
	size_t errlen;
};

static int node_err(struct parse *p, yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int node_err(struct parse *p, yaml_node_t *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_err(p->err, p->errlen, "%s:%zu: %s", p->w->source, n ? n->start_mark.line + 1 : 0, msg);
	return -1;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_string(struct parse *p, yaml_node_t *v, const char *key, char **out)
{
	const char *s = scalar(v);
	if (!s || !*s)
		return node_err(p, v, "%s must be a non-empty string", key);
	free(*out);
	if (!(*out = strdup(s)))
		return node_err(p, v, "out of memory");
	return 0;
}

static int get_bool(struct parse *p, yaml_node_t *v, const char *key)
{
	const char *s = scalar(v);
	if (!s || (strcmp(s, "true") && strcmp(s, "false")))
		return node_err(p, v, "%s must be true or false", key);
	return 0;
}

static int tls_key(struct parse *p, const char *k, yaml_node_t *v)
{
	struct cw_webconfig *w = p->w;
	if (!strcmp(k, "cert_file"))
		return get_string(p, v, k, &w->cert_file);
	if (!strcmp(k, "key_file"))
		return get_string(p, v, k, &w->key_file);
	if (!strcmp(k, "min_version") || !strcmp(k, "max_version")) {
		const char *s = scalar(v);
		int *dst = k[1] == 'i' ? &w->min_version : &w->max_version;
		if (!s || parse_version(s, dst))
			return node_err(p, v, "%s: what is '%s'? expected TLS10, TLS11, TLS12 or TLS13", k, s ? s : "");
		return 0;
	}
	if (!strcmp(k, "prefer_server_cipher_suites"))
		return get_bool(p, v, k); /* GnuTLS servers choose by their own order anyway */
	if (!strcmp(k, "client_auth_type")) {
		const char *s = scalar(v);
		if (s && !strcmp(s, "NoClientCert"))
			return 0;
		return node_err(p, v, "client_auth_type: client certificates are not supported by cachewatch");
	}
	return node_err(p, v, "tls_server_config: %s is not supported (known: cert_file, key_file, "
			      "min_version, max_version)", k);
}

typedef int (*pair_fn)(struct parse *p, const char *key, yaml_node_t *value);

static int each_pair(struct parse *p, yaml_node_t *map, const char *what, pair_fn fn)
{
	if (map->type == YAML_SCALAR_NODE && !*scalar(map))
		return 0; /* "key:" with nothing after it */
	if (map->type != YAML_MAPPING_NODE)
		return node_err(p, map, "%s must be a mapping", what);
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
		const char *ks = scalar(k);
		if (!ks)
			return node_err(p, k, "%s: keys must be strings", what);
		if (fn(p, ks, v))
			return -1;
	}
	return 0;
}

static int user_pair(struct parse *p, const char *name, yaml_node_t *v)
{
	struct cw_webconfig *w = p->w;
	const char *h = scalar(v);
	if (!h || !is_bcrypt(h))
		return node_err(p, v, "basic_auth_users: %s: not a bcrypt hash ($2a$/$2b$/$2y$, 60 characters)", name);
	for (size_t i = 0; i < w->nusers; i++)
		if (!strcmp(w->users[i].name, name))
			return node_err(p, v, "basic_auth_users: %s is listed twice", name);
	if (!*name || strchr(name, ':'))
		return node_err(p, v, "basic_auth_users: user names must be non-empty and contain no ':'");
	struct user *u = realloc(w->users, (w->nusers + 1) * sizeof(*u));
	if (!u)
		return node_err(p, v, "out of memory");
	w->users = u;
	u[w->nusers] = (struct user){ strdup(name), strdup(h) };
	w->nusers++;
	if (!u[w->nusers - 1].name || !u[w->nusers - 1].hash)
		return node_err(p, v, "out of memory");
	return 0;
}

static int http_pair(struct parse *p, const char *k, yaml_node_t *v)
{
	if (!strcmp(k, "http2"))
		return get_bool(p, v, k); /* libmicrohttpd speaks HTTP/1.1 only */
	return node_err(p, v, "http_server_config: %s is not supported", k);
}

static int top_pair(struct parse *p, const char *k, yaml_node_t *v)
{
	if (!strcmp(k, "tls_server_config"))
		return each_pair(p, v, k, tls_key);
	if (!strcmp(k, "basic_auth_users"))
		return each_pair(p, v, k, user_pair);
	if (!strcmp(k, "http_server_config"))
		return each_pair(p, v, k, http_pair);
	return node_err(p, v, "unknown key %s (known: tls_server_config, basic_auth_users, http_server_config)", k);
}

static int parse_yaml(struct cw_webconfig *w, const char *yaml, size_t len, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	size_t line, col;
	int ret = -1;
	if (cw_yaml_too_deep(yaml, len, CW_YAML_MAX_DEPTH, &line, &col)) {
		set_err(err, errlen, "%s:%zu:%zu: nested deeper than %d levels", w->source, line, col,
			CW_YAML_MAX_DEPTH);
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		set_err(err, errlen, "%s:%zu: YAML: %s", w->source, parser.problem_mark.line + 1,
			parser.problem ? parser.problem : "syntax error");
		yaml_parser_delete(&parser);
		return -1;
	}
	struct parse p = { &doc, w, err, errlen };
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	ret = root ? each_pair(&p, root, "the web config", top_pair) : 0; /* empty file: no TLS, no auth */
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return ret;
}

/* The cost field of a bcrypt hash ("$2b$NN$..."); 0 when it is not two digits. */
static unsigned bcrypt_cost(const char *hash)
{
	if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9')
		return 0;
	return (unsigned)(hash[4] - '0') * 10 + (unsigned)(hash[5] - '0');
}

/* A well-formed bcrypt string that no password is known to match, at the
 * highest cost among the users. */
static void set_dummy_hash(struct cw_webconfig *w)
{
	unsigned cost = BCRYPT_MIN_COST;
	for (size_t i = 0; i < w->nusers; i++)
		if (bcrypt_cost(w->users[i].hash) > cost)
			cost = bcrypt_cost(w->users[i].hash);
	if (cost > BCRYPT_MAX_COST) /* such a user's hash never verifies either */
		cost = BCRYPT_MAX_COST;
	snprintf(w->dummy_hash, sizeof(w->dummy_hash), "$2b$%02u$%s", cost,
		 "cachewatchdummysaltu0uNoPasswordIsKnownToMatchThis000");
}

static int validate(struct cw_webconfig *w, char *err, size_t errlen)
{
	set_dummy_hash(w);
	if (!w->cert_file != !w->key_file) {
		set_err(err, errlen, "%s: tls_server_config needs both cert_file and key_file", w->source);
		return -1;
	}
	if (!w->cert_file)
		return 0;
	return load_tls(w, err, errlen);
}

int cw_webconfig_parse(const char *yaml, size_t len, const char *source, struct cw_webconfig **out,
		       char *err, size_t errlen)
{
	struct cw_webconfig *w = calloc(1, sizeof(*w));
	if (!w) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&w->lock, NULL);
	w->min_version = 12; /* exporter-toolkit's default */
	w->max_version = 13;
	w->source = strdup(source ? source : "web config");
	const char *slash = source ? strrchr(source, '/') : NULL;
	w->dir = slash ? strndup(source, (size_t)(slash - source) + (slash == source)) : NULL;
	int ret = -1;
	if (!w->source || (slash && !w->dir)) {
		set_err(err, errlen, "out of memory");
		goto cleanup;
	}
	if (gnutls_rnd(GNUTLS_RND_NONCE, w->salt, sizeof(w->salt)) < 0) {
		set_err(err, errlen, "no random bytes for the auth cache");
		goto cleanup;
	}
	ret = parse_yaml(w, yaml, len, err, errlen);
	ret = ret ?: validate(w, err, errlen);
cleanup:
	if (ret) {
		cw_webconfig_free(w);
		return -1;
	}
	*out = w;
	return 0;
}

int cw_webconfig_load(const char *path, struct cw_webconfig **out, char *err, size_t errlen)
{
	char *text = NULL;
	if (read_file(path, &text, err, errlen))
		return -1;
	int ret = cw_webconfig_parse(text, strlen(text), path, out, err, errlen);
	free(text);
	return ret;
}

void cw_webconfig_free(struct cw_webconfig *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nusers; i++) {
		free(w->users[i].name);
		free(w->users[i].hash);
	}
	free(w->users);
	if (w->key_pem)
		gnutls_memset(w->key_pem, 0, strlen(w->key_pem));
	free(w->key_pem);
	free(w->cert_pem);
	free(w->cert_file);
	free(w->key_file);
	free(w->source);
	free(w->dir);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

const char *cw_webconfig_cert_pem(const struct cw_webconfig *w)
{
	return w ? w->cert_pem : NULL;
}

const char *cw_webconfig_key_pem(const struct cw_webconfig *w)
{
	return w ? w->key_pem : NULL;
}

const char *cw_webconfig_tls_priorities(const struct cw_webconfig *w)
{
	return w && w->cert_pem ? w->priorities : NULL;
}
