/*
 * error.h: the per-thread error message behind vs_last_error().
 *
 * A failing function writes one message with its context and returns -1
 * (or NULL); callers that add context prefix the existing message with
 * vs_error_prefix() so the user reads "a.mp4: frame 12: why".
 */
#ifndef VS_ERROR_H
#define VS_ERROR_H

#define VS_VERSION "0.1.0"

#if defined(__GNUC__)
#define VS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VS_PRINTF(a, b)
#endif

/* Sets the message and returns -1, so `return vs_fail(...)` reads well. */
int vs_fail(const char *fmt, ...) VS_PRINTF(1, 2);
/* Prepends context to the current message; returns -1. */
int vs_error_prefix(const char *fmt, ...) VS_PRINTF(1, 2);
void vs_error_clear(void);

#endif
