/*
 * compose.c: render/internal/scenes' BenchmarkCompose1080p drawn by
 * libpixman called from C, the yardstick of render/pixman (libpixman
 * through purego). Built and run by test/bench/pixman_vs_c.sh. The scene's
 * values (sizes, positions, pixels, background, updated block) are those
 * of internal/composebench; the script checks that the pictures hash alike.
 *
 * Every frame does what a frame of the Go benchmark does with the pixman
 * renderer, call for call: copy a 256x256 block into surface 0
 * (Texture.Update), set the target's clip region to the damage or none
 * when it changed (Begin), fill the damage with the background (Clear:
 * fill_boxes, SRC), then one pixman_image_composite32 per surface (Draw
 * at alpha 1: SRC for the opaque x8r8g8b8 surfaces, OVER for the
 * translucent a8r8g8b8 ones, no mask, nearest filter, PAD repeat). The
 * target is a 1920x1080 x8r8g8b8 memfd mapping, as scanout.MemfdStrategy
 * allocates; surfaces are 800x600 images whose pixels pixman allocates, as
 * NewTexture does.
 *
 * pixman.h is not needed (Debian's libpixman-1-dev): the few prototypes
 * and structs are declared below, as in pixman 0.42; only the run-time
 * library, libpixman-1.so.0 (libpixman-1-0), is linked.
 *
 * Usage: compose [-t seconds] [-case PREFIX]
 * Each case runs about that long (0.3 s); with -case, only the cases whose
 * name starts with PREFIX do ("surfaces=16/damage", "surfaces=4/"), the
 * others draw two frames: the script's interleaving, or perf record.
 * Output, one line per case (the FNV-1a hash of the target after its last
 * frame, all bytes, which the Go benchmarks log too), then the version:
 *   surfaces=N/MODE <frames> <ns> ns/frame <ns> cpu-ns/frame fnv <hex>
 *   pixman <version>
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int pixman_bool_t;
typedef struct pixman_image pixman_image_t;
typedef struct { int32_t x1, y1, x2, y2; } pixman_box32_t;
typedef struct { long size, numRects; } pixman_region32_data_t;
typedef struct { pixman_box32_t extents; pixman_region32_data_t *data; } pixman_region32_t;
typedef struct { uint16_t red, green, blue, alpha; } pixman_color_t;

#define PIXMAN_FORMAT(bpp, type, a, r, g, b) (((bpp) << 24) | ((type) << 16) | ((a) << 12) | ((r) << 8) | ((g) << 4) | (b))
enum {
	PIXMAN_a8r8g8b8 = PIXMAN_FORMAT(32, 2, 8, 8, 8, 8),
	PIXMAN_x8r8g8b8 = PIXMAN_FORMAT(32, 2, 0, 8, 8, 8),
	PIXMAN_OP_SRC = 1,
	PIXMAN_OP_OVER = 3,
	PIXMAN_FILTER_NEAREST = 3,
	PIXMAN_REPEAT_PAD = 2,
};

const char *pixman_version_string(void);
pixman_image_t *pixman_image_create_bits(int format, int width, int height, uint32_t *bits, int rowstride_bytes);
pixman_bool_t pixman_image_unref(pixman_image_t *image);
uint32_t *pixman_image_get_data(pixman_image_t *image);
int pixman_image_get_stride(pixman_image_t *image);
pixman_bool_t pixman_image_set_filter(pixman_image_t *image, int filter, const int32_t *params, int n_params);
void pixman_image_set_repeat(pixman_image_t *image, int repeat);
pixman_bool_t pixman_image_set_clip_region32(pixman_image_t *image, pixman_region32_t *region);
void pixman_image_composite32(int op, pixman_image_t *src, pixman_image_t *mask, pixman_image_t *dest,
			      int32_t src_x, int32_t src_y, int32_t mask_x, int32_t mask_y,
			      int32_t dest_x, int32_t dest_y, int32_t width, int32_t height);
pixman_bool_t pixman_image_fill_boxes(int op, pixman_image_t *dest, const pixman_color_t *color, int n_boxes, const pixman_box32_t *boxes);
pixman_bool_t pixman_region32_init_rects(pixman_region32_t *region, const pixman_box32_t *boxes, int count);
void pixman_region32_fini(pixman_region32_t *region);

enum { TW = 1920, TH = 1080, SW = 800, SH = 600, MAXN = 16 };

static pixman_image_t *target;
static pixman_image_t *tex[MAXN];
static uint32_t *texbits[MAXN];
static int opaque[MAXN], atx[MAXN], aty[MAXN], nsurf;
static uint32_t *pix; /* the client's pixels, SW*SH */
static pixman_box32_t damage, upd = {100, 100, 356, 356};
static int damaged;
static int clipset = -1; /* the target's clip: unknown, none (0) or clipbox (1) */
static pixman_box32_t clipbox;

static void die(const char *what)
{
	fprintf(stderr, "compose: %s failed\n", what);
	exit(1);
}

static void frame(void)
{
	/* Texture.Update(pix, SW*4, [upd]): row copies into surface 0. */
	for (int y = upd.y1; y < upd.y2; y++)
		memcpy(texbits[0] + y * SW + upd.x1, pix + y * SW + upd.x1, (size_t)(upd.x2 - upd.x1) * 4);
	/* Begin(target, damage): the clip region, when it changed (the
	 * renderer keeps a target's clip between frames). */
	if (damaged && (clipset != 1 || memcmp(&clipbox, &damage, sizeof damage))) {
		pixman_region32_t region;
		pixman_region32_init_rects(&region, &damage, 1);
		if (!pixman_image_set_clip_region32(target, &region))
			die("pixman_image_set_clip_region32");
		pixman_region32_fini(&region);
		clipset = 1;
		clipbox = damage;
	} else if (!damaged && clipset != 0) {
		pixman_image_set_clip_region32(target, NULL);
		clipset = 0;
	}
	/* Clear(0x203040). */
	pixman_color_t bg = {0x20 * 257, 0x30 * 257, 0x40 * 257, 0xffff};
	pixman_box32_t all = {0, 0, TW, TH};
	if (!pixman_image_fill_boxes(PIXMAN_OP_SRC, target, &bg, 1, &all))
		die("pixman_image_fill_boxes");
	/* Draw(tex[i], 800x600 at at[i], alpha 1). */
	for (int i = 0; i < nsurf; i++)
		pixman_image_composite32(opaque[i] ? PIXMAN_OP_SRC : PIXMAN_OP_OVER, tex[i], NULL, target,
					 0, 0, 0, 0, atx[i], aty[i], SW, SH);
}

/* now reads a clock in seconds: CLOCK_MONOTONIC (the wall), or
 * CLOCK_PROCESS_CPUTIME_ID (the process's CPU time, as the Go benchmarks'
 * cpu-ns/frame). */
static double now(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *targetmem;

/* fnv is the FNV-1a hash of the target's bytes (as Go's hash/fnv New64a). */
static uint64_t fnv(void)
{
	uint64_t h = 14695981039346656037ull;
	const unsigned char *p = targetmem;
	for (size_t k = 0; k < (size_t)TW * TH * 4; k++)
		h = (h ^ p[k]) * 1099511628211ull;
	return h;
}

/* run times frames until a batch lasts at least secs (as go test's
 * -benchtime: batches grow from one frame) and prints the last batch and
 * the hash of the picture. */
static const char *only; /* -case: run the cases it starts */

static void run(const char *name, double secs)
{
	char c[32];
	snprintf(c, sizeof c, "surfaces=%d/%s", nsurf, name);
	if (only && strncmp(only, c, strlen(only)))
		secs = 0; /* one batch of one frame: the target as the case before left it */
	frame(); /* warm */
	long n = 1;
	for (;;) {
		double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		for (long i = 0; i < n; i++)
			frame();
		double dt = now(CLOCK_MONOTONIC) - t0, dc = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
		if (dt >= secs || n >= 1000000000L) {
			printf("%s %ld %.0f ns/frame %.0f cpu-ns/frame fnv %016llx\n", c, n, dt * 1e9 / n, dc * 1e9 / n,
			       (unsigned long long)fnv());
			fflush(stdout);
			return;
		}
		long next = dt > 0 ? (long)(n * secs * 1.2 / dt) : n * 100;
		if (next > n * 100)
			next = n * 100;
		if (next <= n)
			next = n + 1;
		n = next;
	}
}

int main(int argc, char **argv)
{
	double secs = 0.3;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			secs = atof(argv[++i]);
		} else if (!strcmp(argv[i], "-case") && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr, "usage: compose [-t seconds] [-case surfaces=N/MODE or a prefix]\n");
			return 2;
		}
	}
	pix = malloc((size_t)SW * SH * 4);
	if (!pix)
		die("malloc");
	for (uint32_t i = 0; i < SW * SH; i++)
		pix[i] = 0xc0000000u | ((i * 2654435761u) & 0x00c0c0c0u);

	int fd = memfd_create("pixman-c-target", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)TW * TH * 4) < 0)
		die("memfd_create");
	void *mem = targetmem = mmap(NULL, (size_t)TW * TH * 4, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	target = pixman_image_create_bits(PIXMAN_x8r8g8b8, TW, TH, mem, TW * 4);
	if (!target)
		die("pixman_image_create_bits (target)");

	static const int counts[] = {1, 4, 16};
	for (int c = 0; c < 3; c++) {
		nsurf = counts[c];
		for (int i = 0; i < nsurf; i++) {
			opaque[i] = i % 2 == 0;
			tex[i] = pixman_image_create_bits(opaque[i] ? PIXMAN_x8r8g8b8 : PIXMAN_a8r8g8b8, SW, SH, NULL, SW * 4);
			if (!tex[i] || pixman_image_get_stride(tex[i]) != SW * 4)
				die("pixman_image_create_bits (surface)");
			pixman_image_set_repeat(tex[i], PIXMAN_REPEAT_PAD);
			pixman_image_set_filter(tex[i], PIXMAN_FILTER_NEAREST, NULL, 0);
			texbits[i] = pixman_image_get_data(tex[i]);
			memcpy(texbits[i], pix, (size_t)SW * SH * 4);
			atx[i] = i * 71 % 1120;
			aty[i] = i * 37 % 480;
		}
		for (int m = 0; m < 2; m++) {
			damaged = m == 1;
			damage = (pixman_box32_t){upd.x1 + atx[0], upd.y1 + aty[0], upd.x2 + atx[0], upd.y2 + aty[0]};
			run(damaged ? "damage" : "full", secs);
		}
		for (int i = 0; i < nsurf; i++)
			pixman_image_unref(tex[i]);
	}
	printf("pixman %s\n", pixman_version_string());
	return 0;
}
