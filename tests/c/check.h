/* check.h: TAP-style checks for the C tests ("ok N cond" / "not ok N cond
 * (line L): last error"); scripts/run-tests counts the "ok" lines and a
 * test fails by exiting non-zero: return check_status() from main. */
#ifndef VS_TEST_CHECK_H
#define VS_TEST_CHECK_H

#include <stdio.h>

#include "vstudio.h"

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        check_count++;                                                                             \
        if (cond)                                                                                  \
            printf("ok %d %s\n", check_count, #cond);                                              \
        else {                                                                                     \
            printf("not ok %d %s (line %d): %s\n", check_count, #cond, __LINE__, vs_last_error()); \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

/* Prints the tally; the exit status for main. */
static inline int check_status(void)
{
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
