/* sha256.c - see sha256.h. */
#include "sha256.h"

#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

#include "path.h"
#include "problem.h"

#if SHA256_DIGEST_SIZE != NO_SHA256_SIZE
#error "nettle's SHA-256 digest size is not 32 bytes"
#endif

int no_sha256_file(const char *path, unsigned long long max_bytes,
                   unsigned char out[NO_SHA256_SIZE], char *err, size_t len)
{
    FILE *f = no_path_open_regular(path, max_bytes, err, len);
    if (!f)
        return -1;
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    unsigned char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        sha256_update(&ctx, got, buf);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return no_errorf(err, len, "%s: read error", path);
    sha256_digest(&ctx, NO_SHA256_SIZE, out);
    return 0;
}

void no_sha256_hex(const unsigned char d[NO_SHA256_SIZE], char hex[NO_SHA256_HEX])
{
    static const char digit[] = "0123456789abcdef";
    for (int i = 0; i < NO_SHA256_SIZE; i++) {
        hex[2 * i] = digit[d[i] >> 4];
        hex[2 * i + 1] = digit[d[i] & 15];
    }
    hex[2 * NO_SHA256_SIZE] = 0;
}

static int nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int no_sha256_parse(const char *s, unsigned char d[NO_SHA256_SIZE])
{
    if (strlen(s) != 2 * NO_SHA256_SIZE)
        return -1;
    for (int i = 0; i < NO_SHA256_SIZE; i++) {
        int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        d[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}
