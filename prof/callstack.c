/*
 * callstack.c -- stack capture through libgcc's unwinder, the library's
 * own frames (C4) and names from ELF symbol tables (C5); see callstack.h.
 */
#include "callstack.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <unwind.h>

#include "../base/base.h"
#include "../gc/threads.h"

struct walk {
	uintptr_t *pcs;
	int max, skip, n;
};

static _Unwind_Reason_Code walk_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	uintptr_t ip = (uintptr_t)_Unwind_GetIP(ctx);
	if (ip == 0)
		return _URC_END_OF_STACK;
	if (w->skip > 0) {
		w->skip--;
		return _URC_NO_REASON;
	}
	w->pcs[w->n++] = ip;
	return w->n == w->max ? _URC_END_OF_STACK : _URC_NO_REASON;
}

/* C4: the code of the shared object tricolor runs in (written at init,
 * before any capture; read-only after). */
static uintptr_t lib_lo, lib_hi;

void callstack_set_library(uintptr_t lo, uintptr_t hi)
{
	lib_lo = lo;
	lib_hi = hi > lo ? hi : lo;
}

bool callstack_in_library(uintptr_t pc)
{
	return pc - 1 - lib_lo < lib_hi - lib_lo; /* the call, not after it */
}

struct lib_find {
	uintptr_t base, main_base, lo, hi;
	bool first;
};

/* The first object is the main program; the one whose base is ours gives
 * the range of its executable segments. */
static int lib_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct lib_find *f = arg;
	if (f->first) {
		f->first = false;
		f->main_base = info->dlpi_addr;
	}
	if (info->dlpi_addr != f->base)
		return 0;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (!f->lo || lo < f->lo)
			f->lo = lo;
		if (lo + ph->p_memsz > f->hi)
			f->hi = lo + ph->p_memsz;
	}
	return 1;
}

static void find_library(void)
{
	Dl_info di;
	if (!dladdr((void *)find_library, &di) || !di.dli_fbase)
		return;
	struct lib_find f = {.base = (uintptr_t)di.dli_fbase, .first = true};
	dl_iterate_phdr(lib_cb, &f);
	if (f.base != f.main_base) /* static link: the program's code */
		callstack_set_library(f.lo, f.hi);
}

TRI_NOINLINE int callstack_capture(uintptr_t *pcs, int max, int skip)
{
	if (max <= 0)
		return 0;
	/* +1: this function's own frame. */
	struct walk w = {.pcs = pcs, .max = max, .skip = skip + 1, .n = 0};
	_Unwind_Backtrace(walk_frame, &w);
	return w.n;
}

struct find_fn {
	uintptr_t fn, cfa;
	int left; /* frames still to look at */
};

static _Unwind_Reason_Code find_fn_frame(struct _Unwind_Context *ctx,
                                         void *arg)
{
	struct find_fn *f = arg;
	if (_Unwind_GetIP(ctx) == 0 || f->left-- == 0)
		return _URC_END_OF_STACK;
	if ((uintptr_t)_Unwind_GetRegionStart(ctx) != f->fn)
		return _URC_NO_REASON;
	f->cfa = (uintptr_t)_Unwind_GetCFA(ctx);
	return _URC_END_OF_STACK;
}

TRI_NOINLINE uintptr_t callstack_frame_of(uintptr_t fn)
{
	struct find_fn f = {fn, 0, CALLSTACK_MAX};
	_Unwind_Backtrace(find_fn_frame, &f);
	return f.cfa;
}

/* C4: room for the library's leading frames besides the ones kept. */
#define LIB_FRAMES_MAX 32

TRI_NOINLINE int callstack_capture_program(uintptr_t *pcs, int max)
{
	uintptr_t raw[CALLSTACK_MAX + LIB_FRAMES_MAX];
	if (max > CALLSTACK_MAX)
		max = CALLSTACK_MAX;
	int got = callstack_capture(raw, max + LIB_FRAMES_MAX, 1), from = 0;
	while (from < got && callstack_in_library(raw[from]))
		from++; /* C4 */
	int k = 0;
	for (int i = from; i < got && k < max; i++)
		pcs[k++] = raw[i];
	return k;
}

struct walk_above {
	uintptr_t pcs[CALLSTACK_MAX + LIB_FRAMES_MAX];
	uintptr_t starts[CALLSTACK_TRIM];
	int n;
	uintptr_t sp, hi; /* C3: the last frame's stack pointer, the top */
};

static _Unwind_Reason_Code walk_above(struct _Unwind_Context *ctx, void *arg)
{
	struct walk_above *w = arg;
	uintptr_t ip = (uintptr_t)_Unwind_GetIP(ctx);
	if (ip == 0)
		return _URC_END_OF_STACK;
	/* The frame's stack pointer (x86-64: the callee's CFA) must climb
	 * and stay below the top (C3). */
	uintptr_t sp = (uintptr_t)_Unwind_GetCFA(ctx);
	if (sp <= w->sp || sp >= w->hi)
		return _URC_END_OF_STACK;
	w->sp = sp;
	if (w->n < CALLSTACK_TRIM)
		w->starts[w->n] = (uintptr_t)_Unwind_GetRegionStart(ctx);
	w->pcs[w->n++] = ip;
	return w->n == CALLSTACK_MAX + LIB_FRAMES_MAX ? _URC_END_OF_STACK
	                                              : _URC_NO_REASON;
}

static void backtrace_above(void *w)
{
	_Unwind_Backtrace(walk_above, w);
}

TRI_NOINLINE int callstack_capture_above(uintptr_t *pcs, int max,
                                         const uintptr_t *entries, int n,
                                         uintptr_t stack_hi)
{
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	/* unknown top: the first frames only (a page above this one) */
	struct walk_above w = {.n = 0, .sp = here - 4096,
	                       .hi = stack_hi ? stack_hi : here + 4096};
	/* C3: a fault in the unwinder ends the walk; the frames found so far
	 * are kept (w is memory, not registers, across the longjmp) */
	threads_run_guarded(backtrace_above, &w);
	/* Drop this function's own frame and those under it (the guard's,
	 * the unwinder's), then everything up to the outermost entry, then
	 * the library's leading frames (C4). */
	int from = 0;
	for (int i = 0; i < w.n && i < CALLSTACK_TRIM; i++) {
		if (w.starts[i] == (uintptr_t)callstack_capture_above)
			from = i + 1;
		for (int e = 0; e < n; e++)
			if (w.starts[i] == entries[e])
				from = i + 1;
	}
	while (from < w.n && callstack_in_library(w.pcs[from]))
		from++;
	int k = 0;
	for (int i = from; i < w.n && k < max; i++)
		pcs[k++] = w.pcs[i];
	return k;
}

void callstack_init(void)
{
	uintptr_t pcs[4];
	(void)callstack_capture(pcs, 4, 0);
	if (!lib_hi)
		find_library();
}

/* ---- names from the ELF symbol tables (C5) ---- */

/* The section header of the first section of type `type`, or false. */
static bool elf_section(int fd, const ElfW(Ehdr) *eh, unsigned type,
                        ElfW(Shdr) *out)
{
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		off_t at = (off_t)eh->e_shoff + (off_t)i * eh->e_shentsize;
		if (pread(fd, out, sizeof *out, at) != (ssize_t)sizeof *out)
			return false;
		if (out->sh_type == type)
			return true;
	}
	return false;
}

/* Search the symbol table sym (of the file fd) for the function whose
 * [value, value + size) holds addr (a file address): its name offset in
 * the linked string table and its value, or false. */
static bool elf_find(int fd, const ElfW(Shdr) *sym, uintptr_t addr,
                     ElfW(Sym) *found)
{
	ElfW(Sym) v[128];
	size_t n = sym->sh_entsize ? sym->sh_size / sym->sh_entsize : 0;
	for (size_t i = 0; i < n; i += 128) {
		size_t k = n - i < 128 ? n - i : 128;
		off_t at = (off_t)(sym->sh_offset + i * sizeof v[0]);
		if (pread(fd, v, k * sizeof v[0], at) != (ssize_t)(k * sizeof v[0]))
			return false;
		for (size_t j = 0; j < k; j++)
			if (ELF64_ST_TYPE(v[j].st_info) == STT_FUNC &&
			    v[j].st_shndx != SHN_UNDEF && addr >= v[j].st_value &&
			    addr - v[j].st_value < v[j].st_size) {
				*found = v[j];
				return true;
			}
	}
	return false;
}

/* C5: .symtab first (static functions too), else .dynsym. */
static bool elf_symbolize(int fd, uintptr_t addr, char *name, size_t cap,
                          uintptr_t *off)
{
	ElfW(Ehdr) eh;
	ElfW(Shdr) sym, str;
	if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_shentsize != sizeof(ElfW(Shdr)))
		return false;
	ElfW(Sym) s;
	if (!((elf_section(fd, &eh, SHT_SYMTAB, &sym) &&
	       elf_find(fd, &sym, addr, &s)) ||
	      (elf_section(fd, &eh, SHT_DYNSYM, &sym) &&
	       elf_find(fd, &sym, addr, &s))))
		return false;
	off_t at = (off_t)eh.e_shoff + (off_t)sym.sh_link * eh.e_shentsize;
	if (pread(fd, &str, sizeof str, at) != (ssize_t)sizeof str ||
	    s.st_name >= str.sh_size)
		return false;
	ssize_t got = pread(fd, name, cap - 1, (off_t)(str.sh_offset + s.st_name));
	if (got <= 0)
		return false;
	name[got] = '\0';
	if (!name[0])
		return false;
	*off = addr - s.st_value;
	return true;
}

bool callstack_symbolize(uintptr_t pc, char *name, size_t cap,
                         uintptr_t *off)
{
	Dl_info di;
	struct link_map *lm = NULL;
	uintptr_t q = pc - 1; /* inside the call instruction */
	if (cap < 2 || !dladdr1((void *)q, &di, (void **)&lm, RTLD_DL_LINKMAP) ||
	    !lm)
		return false;
	/* the main program's l_name is "": its file is /proc/self/exe */
	const char *path = lm->l_name && lm->l_name[0] ? lm->l_name
	                                               : "/proc/self/exe";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = false;
	if (fd >= 0) {
		ok = elf_symbolize(fd, q - lm->l_addr, name, cap, off);
		close(fd);
	}
	if (!ok && di.dli_sname && di.dli_saddr) { /* the loader's answer */
		size_t n = strlen(di.dli_sname);
		n = n < cap - 1 ? n : cap - 1;
		memcpy(name, di.dli_sname, n);
		name[n] = '\0';
		*off = q - (uintptr_t)di.dli_saddr;
		ok = true;
	}
	return ok;
}
