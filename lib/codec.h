/*
 * Base64 and the two digests known_hosts needs.  Internal.
 */
#ifndef BC_CODEC_H
#define BC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define BC_SHA1_LEN 20
#define BC_SHA256_LEN 32

/* The base64 text of 'len' bytes, NUL-terminated; caller frees.  NULL
 * when out of memory. */
char *bc_base64_encode(const void *data, size_t len);

/* Decode the base64 text 's' (padding required, no white space) into a
 * new buffer of '*len' bytes; caller frees.  NULL for text that is not
 * base64 or when out of memory. */
unsigned char *bc_base64_decode(const char *s, size_t *len);

void bc_sha1(const void *data, size_t len, unsigned char out[BC_SHA1_LEN]);
void bc_sha256(const void *data, size_t len,
               unsigned char out[BC_SHA256_LEN]);

/* HMAC-SHA1 (RFC 2104) of 'data' under 'key'. */
void bc_hmac_sha1(const void *key, size_t keylen, const void *data,
                  size_t len, unsigned char out[BC_SHA1_LEN]);

#endif /* BC_CODEC_H */
