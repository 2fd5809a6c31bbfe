/* SPDX-License-Identifier: MIT */
/**
 * @file common.h
 * @brief Types, export macro and handles shared by every libvmm header.
 */
#ifndef VMM_COMMON_H
#define VMM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define VMM_BEGIN_DECLS extern "C" {
#define VMM_END_DECLS }
#else
#define VMM_BEGIN_DECLS
#define VMM_END_DECLS
#endif

/*
 * VMM_API marks every exported function. The library is built with hidden
 * default visibility, so anything without it stays private; vmm.map lists the
 * same set and a test keeps the two in step.
 */
#if defined(VMM_BUILDING_LIBRARY) && defined(__GNUC__)
#define VMM_API __attribute__((visibility("default")))
#else
#define VMM_API
#endif

VMM_BEGIN_DECLS

/** A simulated physical address. */
typedef uint64_t vmm_paddr_t;
/** A simulated virtual address (user or kernel half). */
typedef uint64_t vmm_vaddr_t;
/** A page frame number: physical address >> 12. */
typedef uint64_t vmm_pfn_t;

/** A simulated machine: everything hangs off one of these. */
typedef struct vmm_machine vmm_machine;

/** The page descriptor of one physical frame (opaque; see page.h). */
struct vmm_page;

/** Simulated page size. */
#define VMM_PAGE_SHIFT 12
#define VMM_PAGE_SIZE (1ull << VMM_PAGE_SHIFT)

VMM_END_DECLS

#endif /* VMM_COMMON_H */
