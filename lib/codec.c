/*
 * Base64 (RFC 4648), SHA-1 and SHA-256 (FIPS 180-4), HMAC (RFC 2104):
 * small enough to carry, so that reading a known_hosts file and a Ceph
 * key needs no crypto library.  None of this protects a secret; the
 * digests only compare public host keys and host names.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *bc_base64_encode(const void *data, size_t len)
{
    const unsigned char *p = data;
    char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
    size_t i;

    if (!out)
        return NULL;
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | p[i + 1] << 8 | p[i + 2];

        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = b64[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? p[i + 1] << 8 : 0);

        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

unsigned char *bc_base64_decode(const char *s, size_t *len)
{
    size_t n = strlen(s), i, j, pad = 0;
    unsigned char *out;

    if (n % 4)
        return NULL;
    if (n && s[n - 1] == '=')
        pad++;
    if (n > 1 && s[n - 2] == '=')
        pad++;
    if (!(out = malloc(n / 4 * 3 + 1)))
        return NULL;
    for (i = 0, j = 0; i < n; i += 4) {
        uint32_t v = 0;
        int k;

        for (k = 0; k < 4; k++) {
            const char *c = s[i + k] ? strchr(b64, s[i + k]) : NULL;

            /* '=' only as the padding at the very end. */
            if (!c && !(s[i + k] == '=' && i + 4 == n && k >= 4 - (int)pad)) {
                free(out);
                return NULL;
            }
            v = v << 6 | (c ? (uint32_t)(c - b64) : 0);
        }
        out[j++] = v >> 16;
        out[j++] = v >> 8;
        out[j++] = v;
    }
    *len = j - pad;
    return out;
}

/* ---- SHA-1 and SHA-256 --------------------------------------------- */

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha1_block(uint32_t h[5], const unsigned char *b)
{
    uint32_t w[80], a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f, k, t;
    int i;

    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | b[4 * i + 1] << 16 |
               b[4 * i + 2] << 8 | b[4 * i + 3];
    for (; i < 80; i++)
        w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (i = 0; i < 80; i++) {
        if (i < 20)
            f = (bb & c) | (~bb & d), k = 0x5a827999;
        else if (i < 40)
            f = bb ^ c ^ d, k = 0x6ed9eba1;
        else if (i < 60)
            f = (bb & c) | (bb & d) | (c & d), k = 0x8f1bbcdc;
        else
            f = bb ^ c ^ d, k = 0xca62c1d6;
        t = ROL(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = ROL(bb, 30);
        bb = a;
        a = t;
    }
    h[0] += a;
    h[1] += bb;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

static const uint32_t k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void sha256_block(uint32_t h[8], const unsigned char *b)
{
    uint32_t w[64], v[8], t1, t2;
    int i;

    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | b[4 * i + 1] << 16 |
               b[4 * i + 2] << 8 | b[4 * i + 3];
    for (; i < 64; i++)
        w[i] = (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10)) +
               w[i - 7] +
               (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
               w[i - 16];
    memcpy(v, h, sizeof(v));
    for (i = 0; i < 64; i++) {
        t1 = v[7] + (ROR(v[4], 6) ^ ROR(v[4], 11) ^ ROR(v[4], 25)) +
             ((v[4] & v[5]) ^ (~v[4] & v[6])) + k256[i] + w[i];
        t2 = (ROR(v[0], 2) ^ ROR(v[0], 13) ^ ROR(v[0], 22)) +
             ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof(*v));
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (i = 0; i < 8; i++)
        h[i] += v[i];
}

/* Both digests pad alike: 0x80, zeroes, the length in bits, big-endian. */
static void digest(const void *data, size_t len, uint32_t *h, int nh,
                   void (*block)(uint32_t *, const unsigned char *),
                   unsigned char *out)
{
    const unsigned char *p = data;
    unsigned char last[128] = { 0 };
    size_t rest = len % 64, n, i;
    uint64_t bits = (uint64_t)len * 8;

    for (i = 0; i + 64 <= len; i += 64)
        block(h, p + i);
    memcpy(last, p + i, rest);
    last[rest] = 0x80;
    n = rest < 56 ? 64 : 128;
    for (i = 0; i < 8; i++)
        last[n - 1 - i] = (unsigned char)(bits >> (8 * i));
    block(h, last);
    if (n == 128)
        block(h, last + 64);
    for (i = 0; i < (size_t)nh; i++) {
        out[4 * i] = h[i] >> 24;
        out[4 * i + 1] = h[i] >> 16;
        out[4 * i + 2] = h[i] >> 8;
        out[4 * i + 3] = h[i];
    }
}

void bc_sha1(const void *data, size_t len, unsigned char out[BC_SHA1_LEN])
{
    uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
                      0xc3d2e1f0 };

    digest(data, len, h, 5, sha1_block, out);
}

void bc_sha256(const void *data, size_t len, unsigned char out[BC_SHA256_LEN])
{
    uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

    digest(data, len, h, 8, sha256_block, out);
}

void bc_hmac_sha1(const void *key, size_t keylen, const void *data,
                  size_t len, unsigned char out[BC_SHA1_LEN])
{
    unsigned char k[64] = { 0 }, pad[64], inner[BC_SHA1_LEN];
    unsigned char *buf = malloc(64 + (len > BC_SHA1_LEN ? len : BC_SHA1_LEN));
    size_t i;

    if (!buf) {
        memset(out, 0, BC_SHA1_LEN);
        return;
    }
    if (keylen > 64)
        bc_sha1(key, keylen, k);
    else
        memcpy(k, key, keylen);
    for (i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    memcpy(buf, pad, 64);
    memcpy(buf + 64, data, len);
    bc_sha1(buf, 64 + len, inner);
    for (i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    memcpy(buf, pad, 64);
    memcpy(buf + 64, inner, BC_SHA1_LEN);
    bc_sha1(buf, 64 + BC_SHA1_LEN, out);
    free(buf);
}
