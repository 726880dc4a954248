/*
 * libav_log.c: silences libav's log and keeps its last error line per
 * thread, so failures can say what libav said. VSTUDIO_LIBAV_LOG=1 shows the
 * whole log, to debug.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/error.h>
#include <libavutil/log.h>

#include "libav_log.h"

static _Thread_local char reason[256];
static int show_all; /* set once by the constructor, before any thread runs */

static void keep_errors(void *avcl, int level, const char *fmt, va_list ap)
{
    if (show_all) {
        va_list copy;
        va_copy(copy, ap);
        av_log_default_callback(avcl, level, fmt, copy);
        va_end(copy);
    }
    if (level > AV_LOG_ERROR)
        return;
    int print_prefix = 0; /* no "[matroska @ 0x...]" */
    char line[sizeof reason];
    av_log_format_line2(avcl, level, fmt, ap, line, sizeof line, &print_prefix);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '.'))
        line[--n] = '\0';
    if (n > 0)
        memcpy(reason, line, n + 1);
}

__attribute__((constructor)) static void quiet_libav(void)
{
    show_all = getenv("VSTUDIO_LIBAV_LOG") != NULL;
    av_log_set_level(show_all ? AV_LOG_VERBOSE : AV_LOG_ERROR);
    av_log_set_callback(keep_errors);
}

void vs_av_reason_clear(void) { reason[0] = '\0'; }

const char *vs_av_error(int err)
{
    static _Thread_local char text[sizeof reason + AV_ERROR_MAX_STRING_SIZE + 4];
    char code[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(err, code, sizeof code);
    if (reason[0])
        snprintf(text, sizeof text, "%s (%s)", code, reason);
    else
        snprintf(text, sizeof text, "%s", code);
    reason[0] = '\0';
    return text;
}
