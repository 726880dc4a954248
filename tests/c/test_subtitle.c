/* test_subtitle.c: SRT and WebVTT cues to exact times and ASS event text. */
#include <string.h>

#include "check.h"
#include "subtitle.h"

static int parse(const char *text, vs_subtitle_format format, vs_cue_list *cues)
{
    return vs_subtitle_parse(text, strlen(text), format, "t", cues);
}

int main(void)
{
    vs_cue_list c;
    /* SRT: exact milliseconds, lines joined by \N, tags as overrides, CRLF and a BOM */
    CHECK(parse("\xef\xbb\xbf" "1\r\n01:02:03,004 --> 01:02:05,999 X1:10 X2:20\r\n<i>a</i> <b>b</b>\r\n"
                "<font color=\"#FF8000\">c</font>\r\n\r\n2\r\n00:00:00,000 --> 00:00:00,001\r\n{\\an8}top\r\n",
                VS_SUBTITLE_SRT, &c) == 0);
    CHECK(c.n == 2);
    CHECK(c.n == 2 && c.cues[0].start_ms == 3723004 && c.cues[0].end_ms == 3725999 && c.cues[0].line == 2);
    CHECK(c.n == 2 && strcmp(c.cues[0].text, "{\\i1}a{\\i0} {\\b1}b{\\b0}\\N{\\c&H0080FF&}c{\\c}") == 0);
    CHECK(c.n == 2 && strcmp(c.cues[1].text, "{\\an8}top") == 0 && c.cues[1].end_ms == 1);
    vs_cue_list_free(&c);

    /* a cue without its number, bare CR line ends */
    CHECK(parse("00:00:01,500 --> 00:00:02,000\rone\r\r00:00:03.250 --> 00:00:04,000\rtwo\r", VS_SUBTITLE_SRT, &c) == 0);
    CHECK(c.n == 2 && c.cues[0].start_ms == 1500 && c.cues[1].start_ms == 3250 && strcmp(c.cues[1].text, "two") == 0);
    vs_cue_list_free(&c);

    /* VTT: header, NOTE, STYLE, REGION skipped, identifiers, settings, short times, entities, braces */
    CHECK(parse("WEBVTT\nKind: captions\n\nNOTE a\nb --> c\n\nSTYLE\n::cue {}\n\nREGION\nid:r\n\n"
                "id1\n00:01.000 --> 00:02.500 align:start line:0\n<v Ann>x &amp; &lt;y&gt; {z}</v>\n<c.red>w</c>\n\n"
                "10:00:00.000 --> 10:00:00.010\nlast\n",
                VS_SUBTITLE_VTT, &c) == 0);
    CHECK(c.n == 2 && c.cues[0].start_ms == 1000 && c.cues[0].end_ms == 2500 && c.cues[0].line == 14);
    CHECK(c.n == 2 && strcmp(c.cues[0].text, "x & <y> \\{z\\}\\Nw") == 0);
    CHECK(c.n == 2 && c.cues[1].start_ms == 36000000 && c.cues[1].end_ms == 36000010);
    vs_cue_list_free(&c);

    /* errors name the file and the line */
    CHECK(parse("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\nnonsense\n", VS_SUBTITLE_SRT, &c) < 0);
    CHECK(strstr(vs_last_error(), "t:6: bad cue timing 'nonsense'") != NULL);
    CHECK(parse("1\n00:00:01,000 --> 00:00:02,000\nok\n\nhello\n", VS_SUBTITLE_SRT, &c) < 0);
    CHECK(strstr(vs_last_error(), "t:5: expected a cue number") != NULL);
    CHECK(parse("1\n00:00:03,000 --> 00:00:02,000\nx\n", VS_SUBTITLE_SRT, &c) < 0);
    CHECK(strstr(vs_last_error(), "t:2: the cue ends before it starts") != NULL);
    CHECK(parse("1\n00:00:01,0000 --> 00:00:02,000\nx\n", VS_SUBTITLE_SRT, &c) < 0);
    CHECK(parse("1\n00:00:01,000 --> 00:00:02,000x\nx\n", VS_SUBTITLE_SRT, &c) < 0);
    CHECK(parse("1\n00:01,000 --> 00:00:02,000\nx\n", VS_SUBTITLE_SRT, &c) < 0);
    CHECK(parse("1\n", VS_SUBTITLE_SRT, &c) < 0);
    CHECK(strstr(vs_last_error(), "t:1: expected the cue's timing") != NULL);
    CHECK(parse("WEBVTTX\n", VS_SUBTITLE_VTT, &c) < 0);
    CHECK(strstr(vs_last_error(), "t:1: a WebVTT file starts with 'WEBVTT'") != NULL);
    CHECK(parse("WEBVTT\n\n00:01,000 --> 00:02.000\nx\n", VS_SUBTITLE_VTT, &c) < 0);
    CHECK(strstr(vs_last_error(), "t:3: bad cue timing") != NULL);
    CHECK(vs_subtitle_parse("1\n\0", 3, VS_SUBTITLE_SRT, "t", &c) < 0);
    CHECK(strstr(vs_last_error(), "t:2: a NUL byte") != NULL);

    /* the format: extension first, then the first line */
    CHECK(vs_subtitle_detect("a.VTT", "", 0) == VS_SUBTITLE_VTT);
    CHECK(vs_subtitle_detect("a.ssa", "", 0) == VS_SUBTITLE_ASS);
    CHECK(vs_subtitle_detect("a.txt", "WEBVTT\n", 7) == VS_SUBTITLE_VTT);
    CHECK(vs_subtitle_detect("x.d/a", "[Script Info]\n", 14) == VS_SUBTITLE_ASS);
    CHECK(vs_subtitle_detect("a.txt", "1\n", 2) == VS_SUBTITLE_SRT);
    return check_status();
}
