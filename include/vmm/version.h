/* SPDX-License-Identifier: MIT */
/**
 * @file version.h
 * @brief libvmm version numbers.
 *
 * This header is the single source of the library version: meson.build reads
 * these three defines to set the project version and the shared library's
 * soname (libvmm.so.VMM_VERSION_MAJOR).
 */
#ifndef VMM_VERSION_H
#define VMM_VERSION_H

#include <vmm/common.h>

#define VMM_VERSION_MAJOR 0
#define VMM_VERSION_MINOR 1
#define VMM_VERSION_PATCH 0

/** The version as one comparable number: 0xMMmmpp. */
#define VMM_VERSION_NUMBER \
	((VMM_VERSION_MAJOR << 16) | (VMM_VERSION_MINOR << 8) | VMM_VERSION_PATCH)

VMM_BEGIN_DECLS

/**
 * The version of the library actually loaded, as VMM_VERSION_NUMBER; compare
 * it with the header's to detect a mismatch at run time.
 */
VMM_API unsigned vmm_version(void);

/** @return the loaded library's version as "MAJOR.MINOR.PATCH" */
VMM_API const char *vmm_version_string(void);

VMM_END_DECLS

#endif /* VMM_VERSION_H */
