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
    CHECK(vs_parse_rational("29.97", &n, &d) == 0 && n == 2997 && d == 100);
    CHECK(vs_parse_rational("25.0", &n, &d) == 0 && n == 25 && d == 1);
    CHECK(vs_parse_rational("0", &n, &d) < 0);
    CHECK(vs_parse_rational("30/0", &n, &d) < 0);
    CHECK(vs_parse_rational("-30", &n, &d) < 0);
    CHECK(vs_parse_rational("abc", &n, &d) < 0);
    CHECK(vs_parse_rational("1.1234567", &n, &d) < 0);
    /* found by fuzz_parse: the scaled numerator overflowed int */
    CHECK(vs_parse_rational("256525.00005", &n, &d) < 0);

    vs_frame *f = vs_frame_new(3, 2);
    CHECK(f && f->stride == 64);
    vs_frame_free(f);
    CHECK(vs_frame_new(1 << 16, 1) == NULL);
    CHECK(vs_frame_new(32768, 32769) == NULL && strstr(vs_last_error(), "out of range"));

    return check_status();
}
