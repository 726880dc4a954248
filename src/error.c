/*
 * error.c: one message buffer per thread, so worker threads report their
 * own failures without locks and without clobbering each other.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "vstudio.h"

static _Thread_local char error_message[1024];

const char *vs_last_error(void) { return error_message[0] ? error_message : "unknown error"; }

const char *vs_version(void) { return VS_VERSION; }

void vs_error_clear(void) { error_message[0] = '\0'; }

int vs_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    return -1;
}

int vs_error_prefix(const char *fmt, ...)
{
    char prefix[512], old[sizeof error_message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, error_message, sizeof old);
    snprintf(error_message, sizeof error_message, "%.500s: %.500s", prefix, old[0] ? old : "unknown error");
    return -1;
}
