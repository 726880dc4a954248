/*
 * avio_fd.h: libavformat writing through a descriptor we opened (an
 * outfile's private temporary, a pipe, a device) instead of opening a
 * file by name, which would follow whatever a name points to by then;
 * and reading through one (probe: the stat it caches is the fstat of the
 * very file read).
 */
#ifndef VS_AVIO_FD_H
#define VS_AVIO_FD_H

#include <libavformat/avformat.h>

/* Gives fmt an AVIOContext on fd (fmt->pb, AVFMT_FLAG_CUSTOM_IO). With
 * seekable the muxer may seek, and read the file back through the same
 * descriptor (mp4's faststart pass reopens fmt->url: only for reading,
 * only that one); fd must then be open for reading too. Returns 0 or an
 * AVERROR. */
int vs_avio_attach(AVFormatContext *fmt, int fd, int seekable);
/* Flushes and frees fmt->pb (after the trailer, or to give up); returns
 * the first write error, or a read error of the faststart pass that the
 * muxer itself does not report, as an AVERROR; 0 if none. Safe when
 * nothing is attached. */
int vs_avio_detach(AVFormatContext *fmt);

/* A reading AVIOContext on fd from its start (by pread when seekable, else
 * in order), for avformat_open_input with AVFMT_FLAG_CUSTOM_IO. Returns 0
 * or an AVERROR. vs_avio_reader_fd gives its descriptor back;
 * vs_avio_reader_free frees it and leaves fd open. */
int vs_avio_reader(int fd, int seekable, AVIOContext **pb);
int vs_avio_reader_fd(const AVIOContext *pb);
void vs_avio_reader_free(AVIOContext **pb);

#endif
