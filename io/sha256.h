/* sha256.h - SHA-256 (FIPS 180-4) of a file, with Debian's nettle
 * (nettle-dev, <nettle/sha2.h>): the hashes that tie golden/ files to what
 * gen wrote (docs/formats.md, "Golden reference values").  A maintained
 * library, not our own: a home-made hash would be one more thing to prove. */
#ifndef NO_SHA256_H
#define NO_SHA256_H

#include <stddef.h>

#define NO_SHA256_SIZE 32                    /* bytes of a digest */
#define NO_SHA256_HEX (2 * NO_SHA256_SIZE + 1) /* lowercase hex and its NUL */

/* The SHA-256 of the file at path, a regular file of at most max_bytes bytes
 * (path.h, no_path_open_regular).  Returns 0, or -1 with err filled
 * ("PATH: why"). */
int no_sha256_file(const char *path, unsigned long long max_bytes,
                   unsigned char out[NO_SHA256_SIZE], char *err, size_t len);

/* d as 64 lowercase hex digits and a NUL. */
void no_sha256_hex(const unsigned char d[NO_SHA256_SIZE], char hex[NO_SHA256_HEX]);

/* Parse exactly 64 lowercase hex digits (nothing before or after) into d.
 * Returns 0, or -1 if s is anything else. */
int no_sha256_parse(const char *s, unsigned char d[NO_SHA256_SIZE]);

#endif
