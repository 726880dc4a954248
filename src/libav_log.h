/*
 * libav_log.h: libav's error text, with the reason libav logged.
 *
 * libav's log is silenced (its chatter is not for our users), but a bare
 * "Invalid argument" from the muxer hides why; the line libav logged at
 * error level says it ("non monotonically increasing dts"). Each thread
 * keeps the last such line since vs_av_reason_clear().
 */
#ifndef VS_LIBAV_LOG_H
#define VS_LIBAV_LOG_H

/* Forgets this thread's logged reason: call before the libav calls whose
 * failure you will report, so an old, unrelated line is not attached. */
void vs_av_reason_clear(void);

/* "Invalid argument (non monotonically increasing dts ...)", or just the
 * code's text when libav logged nothing. The buffer is per thread. */
const char *vs_av_error(int err);

#endif
