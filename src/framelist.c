/*
 * framelist.c: the images of a folder in frame order, as `vstudio convert`
 * and vs.dataset{} read them.
 *
 * A folder's frames are its PNG/JPEG files (by extension, any case); other
 * entries, sub-folders and dot files (macOS "._0001.png" shadows) are
 * ignored and counted. Three orders:
 *   natural  digit runs compare as numbers ("f2" < "f10", "007" = "7" with
 *            the shorter padding first), everything else byte by byte;
 *   name     plain byte order (strcmp);
 *   REGEX    a POSIX extended regex with exactly one capture group that
 *            matches the frame number in the file name; files that do not
 *            match are ignored; ties keep natural order.
 * Ties always fall back to byte order, so the order is total and the same
 * on every machine.
 *
 * Numbering check: each name's frame number is the capture (REGEX) or its
 * last digit run; names are grouped by the text around that number
 * ("cam1_####.png"), and each group's numbers must run without gaps or
 * repeats. Problems become one warning line naming the missing numbers and
 * the duplicates; they are not errors (a render may start at 1, a camera
 * may drop frames), but people want to know before they trust the video.
 *
 * vs_frame_list_open does this in steps: compile_sort (the order, a regex
 * compiled), read_folder (the image files and their numbers), qsort, the
 * numbering check, make_paths ("DIR/NAME" per frame); one exit frees what
 * a failing step leaves.
 */
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "image.h"
#include "vstudio.h"

struct entry {
    char *name;
    long long number;          /* frame number, -1 when the name has none */
    size_t num_start, num_len; /* where the number sits in name */
};

struct vs_frame_list {
    char **paths;
    int64_t count;
    int64_t ignored;
    char *warning;
};

/* ---- comparisons ---- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int vs_natural_compare(const char *a, const char *b)
{
    int pad_order = 0; /* "7" before "07" when everything else is equal */
    while (*a && *b) {
        if (is_digit(*a) && is_digit(*b)) {
            const char *za = a, *zb = b;
            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            const char *sa = a, *sb = b;
            while (is_digit(*a))
                a++;
            while (is_digit(*b))
                b++;
            size_t la = (size_t)(a - sa), lb = (size_t)(b - sb);
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = memcmp(sa, sb, la);
            if (c)
                return c < 0 ? -1 : 1;
            if (!pad_order && (sa - za) != (sb - zb))
                pad_order = (sa - za) < (sb - zb) ? -1 : 1;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    if (*a || *b)
        return *a ? 1 : -1;
    return pad_order;
}

static int cmp_natural(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    int c = vs_natural_compare(a->name, b->name);
    return c ? c : strcmp(a->name, b->name);
}

static int cmp_name(const void *pa, const void *pb)
{
    return strcmp(((const struct entry *)pa)->name, ((const struct entry *)pb)->name);
}

static int cmp_number(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    if (a->number != b->number)
        return a->number < b->number ? -1 : 1;
    return cmp_natural(pa, pb);
}

/* ---- numbering ---- */

static void last_number(struct entry *e)
{
    e->number = -1;
    const char *dot = strrchr(e->name, '.');
    size_t end = dot ? (size_t)(dot - e->name) : strlen(e->name);
    size_t i = end;
    while (i > 0 && !is_digit(e->name[i - 1]))
        i--;
    size_t stop = i;
    while (i > 0 && is_digit(e->name[i - 1]))
        i--;
    if (stop == i || stop - i > 18)
        return;
    e->num_start = i;
    e->num_len = stop - i;
    e->number = strtoll(e->name + i, NULL, 10);
}

/* Same text around the number (extension aside): the same sequence. */
static int same_group(const struct entry *a, const struct entry *b)
{
    if (a->num_start != b->num_start || memcmp(a->name, b->name, a->num_start))
        return 0;
    const char *sa = a->name + a->num_start + a->num_len, *sb = b->name + b->num_start + b->num_len;
    const char *ea = strrchr(sa, '.'), *eb = strrchr(sb, '.');
    size_t la = ea ? (size_t)(ea - sa) : strlen(sa), lb = eb ? (size_t)(eb - sb) : strlen(sb);
    return la == lb && !memcmp(sa, sb, la);
}

struct report {
    long long missing, dups;
    char missing_list[200], dup_list[200];
};

/* Adds ", text" to a short list, or ", ..." once when it is full. */
static void append(char *buf, size_t cap, const char *text)
{
    size_t n = strlen(buf), len = strlen(text);
    if (n + len + 8 >= cap) {
        if (n + 6 < cap && (n < 3 || strcmp(buf + n - 3, "...") != 0))
            strcat(buf, n ? ", ..." : "...");
        return;
    }
    snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", text);
}

static int cmp_number_ptr(const void *pa, const void *pb)
{
    return cmp_number(*(const struct entry *const *)pa, *(const struct entry *const *)pb);
}

/* Gaps and repeats within one group of numbered names (sorted here by
 * number). Repeats name their files ("f5.png = f05.png"); with several
 * groups, gaps say which group ("c1_f#: 4-19"). */
static void check_group(const struct entry **g, int64_t n, int several, struct report *r)
{
    qsort(g, (size_t)n, sizeof *g, cmp_number_ptr);
    char label[96] = "";
    if (several)
        snprintf(label, sizeof label, "%.*s#%.*s: ", (int)g[0]->num_start, g[0]->name,
                 (int)strcspn(g[0]->name + g[0]->num_start + g[0]->num_len, "."),
                 g[0]->name + g[0]->num_start + g[0]->num_len);
    int labelled = 0;
    char item[300];
    for (int64_t i = 1; i < n; i++) {
        long long prev = g[i - 1]->number, cur = g[i]->number;
        if (cur == prev) {
            if (i == 1 || g[i - 2]->number != cur) {
                r->dups++;
                snprintf(item, sizeof item, "%.120s = %.120s", g[i - 1]->name, g[i]->name);
                append(r->dup_list, sizeof r->dup_list, item);
            }
        } else if (cur > prev + 1) {
            r->missing += cur - prev - 1;
            const char *at = labelled++ ? "" : label;
            if (cur == prev + 2)
                snprintf(item, sizeof item, "%s%lld", at, prev + 1);
            else
                snprintf(item, sizeof item, "%s%lld-%lld", at, prev + 1, cur - 1);
            append(r->missing_list, sizeof r->missing_list, item);
        }
    }
}

static char *numbering_warning(struct entry *e, int64_t n, int one_group)
{
    if (n < 2)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        if (e[i].number < 0)
            return NULL; /* not a numbered sequence: nothing to check */
    struct report r = {0};
    const struct entry **group = malloc(sizeof *group * (size_t)n);
    int8_t *done = calloc((size_t)n, 1);
    if (!group || !done)
        goto out;
    int several = 0;
    for (int64_t i = 1; i < n && !one_group && !several; i++)
        several = !same_group(&e[0], &e[i]);
    for (int64_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        int64_t k = 0;
        for (int64_t j = i; j < n; j++) {
            if (!done[j] && (one_group || same_group(&e[i], &e[j]))) {
                group[k++] = &e[j];
                done[j] = 1;
            }
        }
        check_group(group, k, several, &r);
    }
out:
    free(group);
    free(done);
    if (!r.missing && !r.dups)
        return NULL;
    char *w = malloc(600);
    if (!w)
        return NULL;
    w[0] = '\0';
    if (r.missing)
        snprintf(w, 600, "numbering has gaps: %lld frame number%s missing (%s)", r.missing,
                 r.missing == 1 ? "" : "s", r.missing_list);
    if (r.dups) {
        size_t len = strlen(w);
        snprintf(w + len, 600 - len, "%snumbering has duplicates: %lld number%s used twice or more (%s)",
                 len ? "; " : "", r.dups, r.dups == 1 ? "" : "s", r.dup_list);
    }
    return w;
}

/* ---- listing ---- */

static int is_image_entry(const char *dir, const struct dirent *d)
{
    if (d->d_name[0] == '.')
        return 0;
    if (vs_image_format(d->d_name) == VS_IMAGE_UNKNOWN)
        return 0;
#ifdef _DIRENT_HAVE_D_TYPE
    if (d->d_type == DT_REG)
        return 1;
    if (d->d_type != DT_UNKNOWN && d->d_type != DT_LNK)
        return 0;
#endif
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, d->d_name);
    if (stat(path, &st) != 0)
        return 1; /* a dangling link named like a frame: reading it will say why */
    return S_ISREG(st.st_mode);
}

void vs_frame_list_free(vs_frame_list *list)
{
    if (!list)
        return;
    for (int64_t i = 0; i < list->count; i++)
        free(list->paths[i]);
    free(list->paths);
    free(list->warning);
    free(list);
}

enum sort_order { SORT_NATURAL, SORT_NAME, SORT_REGEX };

/* The order sort names; a regex is compiled into re (free it with
 * free_sort). */
static int compile_sort(const char *sort, enum sort_order *order, regex_t *re)
{
    if (!sort || !*sort)
        sort = "natural";
    *order = !strcmp(sort, "natural") ? SORT_NATURAL : !strcmp(sort, "name") ? SORT_NAME : SORT_REGEX;
    if (*order != SORT_REGEX)
        return 0;
    /* glibc compiles stacked quantifiers ("a+++") into automata that grow
     * exponentially (found by fuzz_framelist): refuse them and long patterns. */
    if (strlen(sort) > 200)
        return vs_fail("sort: regex is longer than 200 characters");
    for (const char *p = sort; p[0] && p[1]; p++)
        if (strchr("+*?}", p[0]) && strchr("+*?{", p[1]) && (p == sort || p[-1] != '\\'))
            return vs_fail("sort: regex '%s' stacks quantifiers ('%c%c'); write one quantifier", sort, p[0], p[1]);
    int rc = regcomp(re, sort, REG_EXTENDED);
    if (rc) {
        char msg[200];
        regerror(rc, re, msg, sizeof msg);
        return vs_fail("sort: '%s' is neither natural, name nor a valid regex (%s)", sort, msg);
    }
    if (re->re_nsub != 1) {
        regfree(re);
        return vs_fail("sort: regex '%s' needs exactly one capture group for the frame number, it has %zu", sort,
                       re->re_nsub);
    }
    return 0;
}

static void free_sort(enum sort_order order, regex_t *re)
{
    if (order == SORT_REGEX)
        regfree(re);
}

/* The folder's frames before sorting. */
struct listing {
    struct entry *entries;
    int64_t n, cap;
};

static void free_listing(struct listing *l)
{
    for (int64_t i = 0; i < l->n; i++)
        free(l->entries[i].name);
    free(l->entries);
}

/* The frame number of name under a regex order into e; 0 when name is not
 * a frame (no match, or a capture that is no number). */
static int match_number(const regex_t *re, const char *name, struct entry *e)
{
    regmatch_t m[2];
    if (regexec(re, name, 2, m, 0) || m[1].rm_so < 0)
        return 0;
    char *endp;
    e->num_start = (size_t)m[1].rm_so;
    e->num_len = (size_t)(m[1].rm_eo - m[1].rm_so);
    e->number = e->num_len && e->num_len <= 18 ? strtoll(name + e->num_start, &endp, 10) : -1;
    return e->number >= 0 && endp == name + m[1].rm_eo;
}

static int add_entry(struct listing *l, const char *dir, const char *name, struct entry e)
{
    if (l->n == l->cap) {
        int64_t cap = l->cap ? l->cap * 2 : 256;
        struct entry *grown = realloc(l->entries, sizeof *l->entries * (size_t)cap);
        if (!grown)
            return vs_fail("%s: out of memory listing the folder", dir);
        l->entries = grown;
        l->cap = cap;
    }
    e.name = strdup(name);
    if (!e.name)
        return vs_fail("%s: out of memory listing the folder", dir);
    l->entries[l->n++] = e;
    return 0;
}

/* Reads the folder's image files into l (with their frame numbers),
 * counting what it leaves out in *ignored. */
static int read_folder(const char *dir, enum sort_order order, const regex_t *re, struct listing *l,
                       int64_t *ignored)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return vs_fail("%s: no such folder", dir);
        if (errno == ENOTDIR)
            return vs_fail("%s: not a folder", dir);
        return vs_fail("%s: cannot read the folder (%s)", dir, strerror(errno));
    }
    int rc = 0;
    struct dirent *de;
    for (;;) {
        errno = 0; /* readdir says "no more" and "failed" both with NULL */
        if (!(de = readdir(d)))
            break;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct entry e = {0};
        if (!is_image_entry(dir, de) || (order == SORT_REGEX && !match_number(re, de->d_name, &e))) {
            (*ignored)++;
            continue;
        }
        rc = add_entry(l, dir, de->d_name, e);
        if (rc < 0)
            break;
        if (order != SORT_REGEX)
            last_number(&l->entries[l->n - 1]);
    }
    if (rc == 0 && errno)
        rc = vs_fail("%s: cannot read the folder (%s)", dir, strerror(errno));
    closedir(d);
    return rc;
}

/* The list's "DIR/NAME" paths, in the listing's (sorted) order. */
static int make_paths(vs_frame_list *list, const char *dir, const struct listing *l)
{
    list->paths = calloc((size_t)(l->n ? l->n : 1), sizeof *list->paths);
    if (!list->paths)
        return vs_fail("%s: out of memory", dir);
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    for (int64_t i = 0; i < l->n; i++) {
        size_t nlen = strlen(l->entries[i].name);
        char *p = malloc(dlen + nlen + 2);
        if (!p)
            return vs_fail("%s: out of memory", dir);
        memcpy(p, dir, dlen);
        p[dlen] = '/';
        memcpy(p + dlen + 1, l->entries[i].name, nlen + 1);
        list->paths[list->count++] = p;
    }
    return 0;
}

vs_frame_list *vs_frame_list_open(const char *dir, const char *sort)
{
    if (!dir)
        return vs_fail("frame folder is NULL"), NULL;
    enum sort_order order;
    regex_t re;
    if (compile_sort(sort, &order, &re) < 0)
        return NULL;
    struct listing found = {0};
    vs_frame_list *list = calloc(1, sizeof *list);
    int rc = list ? 0 : vs_fail("%s: out of memory", dir);
    if (rc < 0)
        goto fail;
    rc = read_folder(dir, order, &re, &found, &list->ignored);
    if (rc < 0)
        goto fail;
    if (found.n > 1)
        qsort(found.entries, (size_t)found.n, sizeof *found.entries,
              order == SORT_NATURAL ? cmp_natural : order == SORT_NAME ? cmp_name : cmp_number);
    list->warning = numbering_warning(found.entries, found.n, order == SORT_REGEX);
    rc = make_paths(list, dir, &found);
    if (rc < 0)
        goto fail;
    free_listing(&found);
    free_sort(order, &re);
    return list;
fail:
    free_listing(&found);
    vs_frame_list_free(list);
    free_sort(order, &re);
    return NULL;
}

int64_t vs_frame_list_count(const vs_frame_list *list) { return list->count; }

const char *vs_frame_list_path(const vs_frame_list *list, int64_t i)
{
    return i >= 0 && i < list->count ? list->paths[i] : NULL;
}

int64_t vs_frame_list_ignored(const vs_frame_list *list) { return list->ignored; }

const char *vs_frame_list_warning(const vs_frame_list *list) { return list->warning; }
