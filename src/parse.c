/*
 * parse.c: strict parsers for the small languages of the command line:
 * frame ranges ("10:20") and frame rates ("30000/1001"). Strict means the
 * whole string is consumed and every bound checked, so "--frames 1:x" is a
 * usage error rather than frame 1 to the end.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "vstudio.h"

/* Parses a non-negative decimal integer filling [s, stop). */
static int parse_count(const char *s, const char *stop, int64_t max, int64_t *out)
{
    if (s == stop)
        return -1;
    int64_t v = 0;
    for (const char *p = s; p < stop; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        if (v > (max - (*p - '0')) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 0;
}

int vs_parse_frame_range(const char *text, int64_t *first, int64_t *end)
{
    const int64_t max = (int64_t)1 << 40;
    const char *colon = strchr(text, ':');
    const char *stop = text + strlen(text);
    int64_t a = 0, b = -1;
    if (!colon) {
        if (parse_count(text, stop, max, &a) < 0)
            return vs_fail("bad frame range '%s' (expected A:B, A:, :B or A)", text);
        b = a + 1;
    } else {
        if (colon > text && parse_count(text, colon, max, &a) < 0)
            return vs_fail("bad frame range '%s': start is not a frame number", text);
        if (colon + 1 < stop && parse_count(colon + 1, stop, max, &b) < 0)
            return vs_fail("bad frame range '%s': end is not a frame number", text);
        if (colon == text && colon + 1 == stop)
            return vs_fail("bad frame range '%s' (expected A:B, A:, :B or A)", text);
        if (b >= 0 && b <= a)
            return vs_fail("bad frame range '%s': end must be greater than start", text);
    }
    *first = a;
    *end = b;
    return 0;
}

int vs_parse_rational(const char *text, int *num, int *den)
{
    const char *slash = strchr(text, '/');
    const char *stop = text + strlen(text);
    int64_t n, d = 1;
    if (slash) {
        if (parse_count(text, slash, INT_MAX, &n) < 0 || parse_count(slash + 1, stop, INT_MAX, &d) < 0)
            return vs_fail("bad rate '%s' (expected N, N.M or N/D)", text);
    } else {
        const char *dot = strchr(text, '.');
        int64_t whole, frac = 0, scale = 1;
        if (!dot) {
            if (parse_count(text, stop, INT_MAX, &whole) < 0)
                return vs_fail("bad rate '%s' (expected N, N.M or N/D)", text);
        } else {
            if (stop - dot - 1 > 6 || parse_count(text, dot, 1000000, &whole) < 0 ||
                parse_count(dot + 1, stop, 1000000, &frac) < 0)
                return vs_fail("bad rate '%s' (expected N, N.M with up to 6 decimals, or N/D)", text);
            for (const char *p = dot + 1; p < stop; p++)
                scale *= 10;
        }
        n = whole * scale + frac;
        d = scale;
        /* reduce 29.970 to 2997/100 */
        while (d > 1 && n % 10 == 0 && d % 10 == 0) {
            n /= 10;
            d /= 10;
        }
    }
    if (n <= 0 || d <= 0)
        return vs_fail("bad rate '%s': must be positive", text);
    if (n > INT_MAX || d > INT_MAX)
        return vs_fail("bad rate '%s': too many digits", text);
    *num = (int)n;
    *den = (int)d;
    return 0;
}
