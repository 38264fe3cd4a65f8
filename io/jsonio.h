/* jsonio.h - strict JSON objects with jansson (docs/formats.md): the shared
 * part of problem.json, candidate.json and provenance.json.
 *
 * Loading rejects duplicate keys (JSON_REJECT_DUPLICATES), trailing text and
 * a top level that is not an object.  The getters check one member each:
 * present, of the JSON type asked for (an integer must be a JSON integer:
 * "8.0" is not one), and in range.  Messages are one line, "FILE: ...". */
#ifndef NO_JSONIO_H
#define NO_JSONIO_H

#include <jansson.h>
#include <stddef.h>

/* The largest JSON file read: problem.json and candidate.json are a few
 * hundred bytes, provenance.json a few kilobytes. */
#define NO_JSONIO_MAX_BYTES (1ull << 20)

/* Parse path into *root (a JSON object; the caller json_decref()s it).
 * path must be a regular file of at most NO_JSONIO_MAX_BYTES bytes
 * (no_path_open_regular). */
int no_jsonio_load(const char *path, json_t **root, char *err, size_t len);

/* Write root atomically, indented, members in insertion order, '\n' last. */
int no_jsonio_save(const char *path, const json_t *root, char *err, size_t len);

/* The first member of obj whose key is not in the NULL-terminated list
 * allowed, or NULL if there is none. */
const char *no_jsonio_unknown(const json_t *obj, const char *const *allowed);

/* s made fit for a one-line message: at most n - 1 bytes (truncated with
 * "..."), control and non-ASCII bytes replaced by '?'.  Returns buf. */
const char *no_jsonio_clean(char *buf, size_t n, const char *s);

/* Member key of obj as an integer >= min. */
int no_jsonio_int(const json_t *obj, const char *key, long long min, long long *out,
                  const char *path, char *err, size_t len);

/* Member key of obj as a number (a JSON integer or real). */
int no_jsonio_real(const json_t *obj, const char *key, double *out, const char *path, char *err,
                   size_t len);

/* Member key of obj as a string. */
int no_jsonio_string(const json_t *obj, const char *key, const char **out, const char *path,
                     char *err, size_t len);

/* Member key of obj as one of the n strings names[]; *out = its index. */
int no_jsonio_enum(const json_t *obj, const char *key, const char *const *names, int n, int *out,
                   const char *path, char *err, size_t len);

#endif
