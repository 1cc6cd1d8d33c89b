/* A cap on YAML nesting, checked with libyaml's event parser before the document loader runs. */
#include <stdbool.h>
#include <yaml.h>
#include "lib/yaml_depth.h"

int cw_yaml_too_deep(const char *buf, size_t len, unsigned max, size_t *line, size_t *col)
{
	yaml_parser_t p;
	yaml_event_t ev;
	unsigned depth = 0;
	int ret = 0;
	if (!yaml_parser_initialize(&p))
		return 0;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (bool done = false; !done && yaml_parser_parse(&p, &ev);) {
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > max) {
				*line = ev.start_mark.line + 1;
				*col = ev.start_mark.column + 1;
				ret = 1;
				done = true;
			}
		} else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		done = done || ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return ret;
}
