/* test_parse.c: the strict CLI parsers, edge by edge. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "vstudio.h"

int main(void)
{
    int64_t a, b;
    CHECK(vs_parse_frame_range("10:20", &a, &b) == 0 && a == 10 && b == 20);
    CHECK(vs_parse_frame_range("5:", &a, &b) == 0 && a == 5 && b == -1);
    CHECK(vs_parse_frame_range(":7", &a, &b) == 0 && a == 0 && b == 7);
    CHECK(vs_parse_frame_range("3", &a, &b) == 0 && a == 3 && b == 4);
    CHECK(vs_parse_frame_range("20:10", &a, &b) < 0);
    CHECK(vs_parse_frame_range("1:x", &a, &b) < 0);
    CHECK(vs_parse_frame_range(":", &a, &b) < 0);
    CHECK(vs_parse_frame_range("", &a, &b) < 0);
    CHECK(vs_parse_frame_range("-1:3", &a, &b) < 0);
    CHECK(vs_parse_frame_range("99999999999999999999:", &a, &b) < 0);
    CHECK(strstr(vs_last_error(), "start is not a frame number") != NULL);

    int n, d;
    CHECK(vs_parse_rational("30", &n, &d) == 0 && n == 30 && d == 1);
    CHECK(vs_parse_rational("30000/1001", &n, &d) == 0 && n == 30000 && d == 1001);
    CHECK(vs_parse_rational("25.0", &n, &d) == 0 && n == 25 && d == 1);
    CHECK(vs_parse_rational("60/2", &n, &d) == 0 && n == 60 && d == 2);
    /* decimals written for the NTSC rates are the NTSC rates, whatever the precision */
    CHECK(vs_parse_rational("29.97", &n, &d) == 0 && n == 30000 && d == 1001);
    CHECK(vs_parse_rational("23.976", &n, &d) == 0 && n == 24000 && d == 1001);
    CHECK(vs_parse_rational("23.98", &n, &d) == 0 && n == 24000 && d == 1001);
    CHECK(vs_parse_rational("59.94", &n, &d) == 0 && n == 60000 && d == 1001);
    CHECK(vs_parse_rational("119.88", &n, &d) == 0 && n == 120000 && d == 1001);
    CHECK(vs_parse_rational("29.97002997003", &n, &d) == 0 && n == 30000 && d == 1001); /* Lua's 30000/1001 */
    CHECK(vs_parse_rational("23.976023976024", &n, &d) == 0 && n == 24000 && d == 1001); /* Lua's 24000/1001 */
    /* more precise than the NTSC rate allows: not it */
    CHECK(vs_parse_rational("29.97000", &n, &d) == 0 && n == 2997 && d == 100);
    CHECK(vs_parse_rational("29.9", &n, &d) == 0 && n == 299 && d == 10);
    /* other decimals: the nearest fraction with a denominator up to 1001 */
    CHECK(vs_parse_rational("12.5", &n, &d) == 0 && n == 25 && d == 2);
    CHECK(vs_parse_rational("14.985", &n, &d) == 0 && n == 15000 && d == 1001);
    CHECK(vs_parse_rational("3.3333333333333", &n, &d) == 0 && n == 10 && d == 3); /* Lua's 10/3 */
    CHECK(vs_parse_rational("0.1234567", &n, &d) == 0 && n == 10 && d == 81);
    CHECK(vs_parse_rational("0", &n, &d) < 0);
    CHECK(vs_parse_rational("30/0", &n, &d) < 0);
    CHECK(vs_parse_rational("-30", &n, &d) < 0);
    CHECK(vs_parse_rational("abc", &n, &d) < 0);
    CHECK(vs_parse_rational("1000000.1234567890123", &n, &d) < 0); /* 20 digits */
    CHECK(strstr(vs_last_error(), "too many digits") != NULL);
    CHECK(vs_parse_rational("0.0000000000000000001", &n, &d) < 0); /* 19 decimals */
    CHECK(vs_parse_rational("1e-05", &n, &d) < 0);
    /* found by fuzz_parse: the scaled numerator overflowed int (now the nearest fraction) */
    CHECK(vs_parse_rational("256525.00005", &n, &d) == 0 && n == 256525 && d == 1);
    CHECK(vs_parse_rational("0.0001", &n, &d) < 0); /* nearest fraction 0/1 */

    vs_frame *f = vs_frame_new(3, 2);
    CHECK(f && f->stride == 64);
    vs_frame_free(f);
    CHECK(vs_frame_new(1 << 16, 1) == NULL);
    CHECK(vs_frame_new(32768, 32769) == NULL && strstr(vs_last_error(), "out of range"));

    return check_status();
}
