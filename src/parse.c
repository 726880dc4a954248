/*
 * parse.c: strict parsers for the small languages of the command line:
 * frame ranges ("10:20") and frame rates ("30000/1001", "29.97"). Strict means the
 * whole string is consumed and every bound checked, so "--frames 1:x" is a
 * usage error rather than frame 1 to the end.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
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

/* The fraction closest to n/d with a denominator at most max_den (the
 * continued-fraction convergents and the best semiconvergent between the
 * last two; Python's Fraction.limit_denominator). */
static void nearest_fraction(int64_t n, int64_t d, int64_t max_den, int64_t *num, int64_t *den)
{
    int64_t p0 = 0, q0 = 1, p1 = 1, q1 = 0;
    int64_t a_n = n, a_d = d;
    while (a_d != 0) {
        int64_t a = a_n / a_d;
        int64_t q2 = q0 + a * q1;
        if (q2 > max_den)
            break;
        int64_t p2 = p0 + a * p1;
        p0 = p1, q0 = q1, p1 = p2, q1 = q2;
        int64_t r = a_n - a * a_d;
        a_n = a_d;
        a_d = r;
    }
    if (a_d == 0) { /* n/d itself fits */
        *num = p1;
        *den = q1;
        return;
    }
    int64_t k = (max_den - q0) / q1;
    long double v = (long double)n / d;
    long double semi = (long double)(p0 + k * p1) / (q0 + k * q1), conv = (long double)p1 / q1;
    int semi_closer = fabsl(semi - v) < fabsl(conv - v);
    *num = semi_closer ? p0 + k * p1 : p1;
    *den = semi_closer ? q0 + k * q1 : q1;
}

/* Frame rates: "N/D" is exact and "N" (or "N.000") is N/1. A decimal is one
 * of the NTSC rates k*1000/1001 (23.976, 29.97, 59.94, and 29.97002997003,
 * which is how Lua prints 30000/1001) when it has two decimals or more and
 * equals one to the precision it is written with (half a unit of its last
 * digit: "23.98" is 24000/1001 too, "29.97000" is not); any other decimal becomes
 * the nearest fraction with a denominator up to 1001 (12.5 is 25/2). The
 * one parser of rates for the command line and the Lua API. */
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
            /* up to 18 digits in all: whole * 10^decimals + frac stays in int64
             * (Lua prints a number with 14) */
            if (stop - dot - 1 > 18 || parse_count(text, dot, 1000000, &whole) < 0 ||
                parse_count(dot + 1, stop, INT64_MAX, &frac) < 0)
                return vs_fail("bad rate '%s' (expected N, N.M or N/D)", text);
            for (const char *p = dot + 1; p < stop; p++)
                scale *= 10;
            if (whole > (INT64_MAX - frac) / scale)
                return vs_fail("bad rate '%s': too many digits", text);
        }
        n = whole * scale + frac;
        d = scale;
        if (n % d == 0) {
            n /= d;
            d = 1;
        } else if (n > 0) {
            /* NTSC: two decimals or more, within half a last digit of k*1000/1001 */
            long double v = (long double)n / d;
            int64_t k = (int64_t)llroundl(v * 1001 / 1000);
            if (d >= 100 && k > 0 && k <= INT_MAX / 1000 && fabsl(v - (long double)k * 1000 / 1001) <= 0.5L / d) {
                n = k * 1000;
                d = 1001;
            } else {
                nearest_fraction(n, d, 1001, &n, &d);
            }
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
