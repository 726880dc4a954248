/*
 * outfile.c: private temporaries renamed into place (outfile.h).
 */
#include "outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "vstudio.h"

struct vs_outfile {
    char *path;        /* the final name */
    char *temp;        /* .NAME.<pid>.<random>.part beside it */
    int fd;            /* -1 once finished */
    struct timespec created; /* when the temporary was made (for sweep_stale) */
    vs_outfile *next;  /* on the list of temporaries on disk */
};

/* The temporaries on disk, for the exit paths: one list per process is
 * what an atexit hook can reach. */
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static vs_outfile *on_disk;
static pthread_once_t exit_hook_once = PTHREAD_ONCE_INIT;

void vs_outfile_remove_all(void)
{
    pthread_mutex_lock(&list_lock);
    for (vs_outfile *f = on_disk; f; f = f->next)
        unlink(f->temp);
    on_disk = NULL; /* their owners may still abort them: nothing to find */
    pthread_mutex_unlock(&list_lock);
}

static void install_exit_hook(void) { atexit(vs_outfile_remove_all); }

static void track(vs_outfile *f)
{
    pthread_once(&exit_hook_once, install_exit_hook);
    pthread_mutex_lock(&list_lock);
    f->next = on_disk;
    on_disk = f;
    pthread_mutex_unlock(&list_lock);
}

static void untrack(vs_outfile *f)
{
    pthread_mutex_lock(&list_lock);
    for (vs_outfile **p = &on_disk; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    pthread_mutex_unlock(&list_lock);
}

static uint64_t random_word(void)
{
    uint64_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    /* no entropy yet (early boot): O_EXCL still keeps the name private */
    static _Atomic uint64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ++counter;
}

vs_outfile *vs_outfile_create(const char *path)
{
    vs_outfile *f = calloc(1, sizeof *f);
    size_t n = strlen(path) + 64;
    if (!f || !(f->path = strdup(path)) || !(f->temp = malloc(n))) {
        vs_fail("%s: out of memory", path);
        goto fail;
    }
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path + 1) : 0;
    const char *name = path + dir_len;
    /* room for the decoration within a 255-byte file name */
    int name_len = (int)strlen(name) > 200 ? 200 : (int)strlen(name);
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(f->temp, n, "%.*s.%.*s.%ld.%016llx.part", dir_len, path, name_len, name, (long)getpid(),
                 (unsigned long long)random_word());
        f->fd = open(f->temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (f->fd >= 0 || errno != EEXIST)
            break;
    }
    if (f->fd < 0) {
        vs_fail("%s: cannot create: %s", path, strerror(errno));
        goto fail;
    }
    clock_gettime(CLOCK_REALTIME, &f->created);
    track(f);
    return f;
fail:
    if (f) {
        free(f->path);
        free(f->temp);
        free(f);
    }
    return NULL;
}

int vs_outfile_fd(const vs_outfile *f) { return f->fd; }

int vs_outfile_finish(vs_outfile *f)
{
    if (f->fd < 0)
        return 0;
    int fd = f->fd;
    f->fd = -1;
    /* EINVAL: a file system without fsync (some FUSE mounts) */
    if (fsync(fd) < 0 && errno != EINVAL) {
        int err = errno;
        close(fd);
        return vs_fail("%s: write failed: %s", f->path, strerror(err));
    }
    if (close(fd) < 0)
        return vs_fail("%s: write failed: %s", f->path, strerror(errno));
    return 0;
}

static void free_outfile(vs_outfile *f)
{
    untrack(f);
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f->temp);
    free(f);
}

void vs_outfile_abort(vs_outfile *f)
{
    if (!f)
        return;
    unlink(f->temp);
    free_outfile(f);
}

int vs_outfile_sync_dir(const char *path, int dir)
{
    char *copy = NULL;
    const char *folder = path;
    if (!dir) {
        const char *slash = strrchr(path, '/');
        if (!slash)
            folder = ".";
        else if (slash == path)
            folder = "/";
        else if (!(copy = strndup(path, (size_t)(slash - path))))
            return vs_fail("%s: out of memory", path);
        else
            folder = copy;
    }
    int rc = 0;
    int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (fsync(fd) < 0 && errno != EINVAL))
        rc = vs_fail("%s: cannot sync the folder %s: %s", path, folder, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

/* Once NAME is complete, the temporaries of NAME that killed runs left
 * (kill -9, a crash, a power loss) are garbage: removes those whose process
 * is gone and that were last written before this one was made. A live
 * writer, on this machine or on another sharing the folder, keeps writing
 * its temporary, so it is newer than ours and stays. */
static void sweep_stale(const vs_outfile *f)
{
    const char *slash = strrchr(f->path, '/');
    int dir_len = slash ? (int)(slash - f->path + 1) : 0;
    const char *name = f->path + dir_len;
    char folder[4096];
    snprintf(folder, sizeof folder, "%.*s", dir_len ? dir_len : 1, dir_len ? f->path : ".");
    DIR *d = opendir(folder);
    if (!d)
        return;
    size_t name_len = strlen(name) > 200 ? 200 : strlen(name);
    for (struct dirent *e; (e = readdir(d));) {
        const char *t = e->d_name;
        long pid;
        unsigned long long word;
        int end = 0;
        if (t[0] != '.' || strncmp(t + 1, name, name_len) != 0 || t[1 + name_len] != '.' ||
            sscanf(t + 2 + name_len, "%ld.%16llx.part%n", &pid, &word, &end) != 2 || t[2 + name_len + end] ||
            pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char stale[4096 + 256];
        struct stat st;
        snprintf(stale, sizeof stale, "%.*s%s", dir_len, f->path, t);
        if (lstat(stale, &st) == 0 && S_ISREG(st.st_mode) &&
            (st.st_mtim.tv_sec < f->created.tv_sec ||
             (st.st_mtim.tv_sec == f->created.tv_sec && st.st_mtim.tv_nsec < f->created.tv_nsec)))
            unlink(stale);
    }
    closedir(d);
}

int vs_outfile_commit(vs_outfile *f)
{
    if (vs_outfile_finish(f) < 0)
        goto fail;
    if (rename(f->temp, f->path) < 0) {
        vs_fail("%s: cannot rename %s to it: %s", f->path, f->temp, strerror(errno));
        goto fail;
    }
    sweep_stale(f);
    int rc = vs_outfile_sync_dir(f->path, 0);
    free_outfile(f);
    return rc;
fail:
    vs_outfile_abort(f);
    return -1;
}

int vs_outfile_commit_new(vs_outfile *f, const char *path)
{
    if (vs_outfile_finish(f) < 0)
        goto fail;
    int rc = renameat2(AT_FDCWD, f->temp, AT_FDCWD, path, RENAME_NOREPLACE);
    if (rc < 0 && (errno == EINVAL || errno == ENOSYS)) {
        /* a file system without RENAME_NOREPLACE: link refuses an existing name too */
        rc = link(f->temp, path);
        if (rc == 0)
            unlink(f->temp);
    }
    int exists = rc < 0 && errno == EEXIST;
    if (exists)
        vs_fail("%s exists already", path);
    else if (rc < 0)
        vs_fail("%s: cannot rename %s to it: %s", path, f->temp, strerror(errno));
    if (rc < 0) {
        vs_outfile_abort(f);
        return exists ? -EEXIST : -1;
    }
    free_outfile(f);
    return 0;
fail:
    vs_outfile_abort(f);
    return -1;
}

int vs_file_write(const char *path, const void *data, size_t size)
{
    vs_outfile *f = vs_outfile_create(path);
    if (!f)
        return -1;
    for (const char *p = data; size > 0;) {
        ssize_t w = write(f->fd, p, size);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            vs_fail("%s: cannot write: %s", path, strerror(errno));
            vs_outfile_abort(f);
            return -1;
        }
        p += w;
        size -= (size_t)w;
    }
    return vs_outfile_commit(f);
}
