/* A long-running git clean filter that does no work per byte: it reads each file git sends
 * and answers with a short, distinct text (path and size, about the length of a pointer)
 * without hashing or storing anything. `git add` through it is the floor for every tool
 * that keeps data out of git with a clean filter: git reading each file, the pipe, and one
 * loose object per answer, and nothing else. Speaks version 2 of git's long-running filter
 * protocol. Build: cc -O2 -o null-filter null-filter.c */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buf[65536];

static void die(const char *why) {
  fprintf(stderr, "null-filter: %s\n", why);
  exit(1);
}

static void read_exact(char *p, size_t n) {
  while (n > 0) {
    ssize_t got = read(0, p, n);
    if (got == 0) exit(0); /* git closed the pipe: done */
    if (got < 0) die("cannot read from git");
    p += got;
    n -= (size_t)got;
  }
}

/* One packet into buf (NUL-terminated); its length, or -1 for a flush packet. */
static long read_pkt(void) {
  char head[5] = {0};
  read_exact(head, 4);
  char *end;
  long n = strtol(head, &end, 16);
  if (end != head + 4) die("bad packet header");
  if (n == 0) return -1;
  if (n < 4 || n > 65520) die("bad packet length");
  read_exact(buf, (size_t)(n - 4));
  buf[n - 4] = 0;
  return n - 4;
}

static void write_pkt(const char *data, size_t n) {
  char head[5];
  snprintf(head, sizeof head, "%04zx", n + 4);
  if (fwrite(head, 1, 4, stdout) != 4 || fwrite(data, 1, n, stdout) != n) die("cannot write");
}

static void write_line(const char *line) { write_pkt(line, strlen(line)); }
static void flush_pkt(void) { fputs("0000", stdout); }

int main(void) {
  long n;
  int v2 = 0;
  while ((n = read_pkt()) >= 0) v2 |= strcmp(buf, "version=2\n") == 0;
  if (!v2) die("git did not offer version 2 of the filter protocol");
  write_line("git-filter-server\n");
  write_line("version=2\n");
  flush_pkt();
  fflush(stdout);
  while (read_pkt() >= 0) {} /* git's capabilities */
  write_line("capability=clean\n");
  flush_pkt();
  fflush(stdout);
  for (;;) {
    char path[4096] = "", command[64] = "";
    while ((n = read_pkt()) >= 0) {
      if (strncmp(buf, "pathname=", 9) == 0) snprintf(path, sizeof path, "%.4000s", buf + 9);
      if (strncmp(buf, "command=", 8) == 0) snprintf(command, sizeof command, "%.60s", buf + 8);
    }
    unsigned long long size = 0;
    while ((n = read_pkt()) >= 0) size += (unsigned long long)n;
    if (strcmp(command, "clean\n") != 0) {
      write_line("status=error\n");
      flush_pkt();
      fflush(stdout);
      continue;
    }
    char answer[4200];
    int len = snprintf(answer, sizeof answer, "null filter\npath %ssize %llu\n", path, size);
    write_line("status=success\n");
    flush_pkt();
    write_pkt(answer, (size_t)len);
    flush_pkt();
    flush_pkt(); /* the status stays "success" */
    fflush(stdout);
  }
}
