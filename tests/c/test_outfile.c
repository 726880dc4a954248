/* test_outfile.c: private temporaries (src/outfile.h): a name planted where
 * a temporary could go is never followed, two writers of one path each get
 * their own, commit leaves exactly the final name, commit_new never replaces
 * a file, and abort and remove_all leave nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "outfile.h"

/* Entries in dir besides . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d));)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static int write_str(vs_outfile *f, const char *s)
{
    return write(vs_outfile_fd(f), s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

static int file_is(const char *path, const char *want)
{
    char buf[64] = "";
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    return n >= 0 && strcmp(buf, want) == 0;
}

int main(void)
{
    const char *dir = check_tmpdir("outfile");
    char out[256], victim[256], planted[256], taken[256];
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(taken, sizeof taken, "%s/taken.txt", dir);
    int fd = open(victim, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && write(fd, "victim", 6) == 6);
    close(fd);
    snprintf(planted, sizeof planted, "%s/out.txt.part", dir);
    CHECK(symlink("victim", planted) == 0);
    snprintf(planted, sizeof planted, "%s/.out.txt.part", dir);
    CHECK(symlink("victim", planted) == 0);

    vs_outfile *a = vs_outfile_create(out), *b = vs_outfile_create(out);
    CHECK(a && b);
    CHECK(entries(dir) == 5); /* victim, two planted links, two temporaries */
    CHECK(write_str(a, "from a") == 0 && write_str(b, "from b") == 0);
    CHECK(vs_outfile_commit(b) == 0);
    CHECK(file_is(out, "from b"));
    CHECK(vs_outfile_commit(a) == 0);
    CHECK(file_is(out, "from a"));
    CHECK(file_is(victim, "victim"));
    CHECK(entries(dir) == 4);

    /* commit_new refuses to replace; the temporary goes either way */
    vs_outfile *c = vs_outfile_create(out);
    CHECK(c && write_str(c, "c") == 0);
    CHECK(vs_outfile_commit_new(c, out) == -EEXIST);
    CHECK(strstr(vs_last_error(), "exists already") != NULL);
    CHECK(file_is(out, "from a"));
    vs_outfile *d = vs_outfile_create(out);
    CHECK(d && write_str(d, "d") == 0 && vs_outfile_commit_new(d, taken) == 0);
    CHECK(file_is(taken, "d"));
    CHECK(vs_outfile_sync_dir(dir, 1) == 0);
    CHECK(entries(dir) == 5);

    /* abort, and the exit path's remove_all, leave nothing */
    vs_outfile *e = vs_outfile_create(out), *f = vs_outfile_create(out);
    CHECK(e && f && entries(dir) == 7);
    vs_outfile_abort(e);
    CHECK(entries(dir) == 6);
    vs_outfile_remove_all();
    CHECK(entries(dir) == 5);
    vs_outfile_abort(f); /* its owner still may: harmless */
    CHECK(entries(dir) == 5);

    /* a folder that does not exist: the message names the output */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such.txt", dir);
    CHECK(vs_outfile_create(missing) == NULL);
    CHECK(strstr(vs_last_error(), "no/such.txt: cannot create") != NULL);

    CHECK(vs_file_write(out, "whole", 5) == 0 && file_is(out, "whole"));
    CHECK(entries(dir) == 5);
    return check_status();
}
