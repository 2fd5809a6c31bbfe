/* SPDX-License-Identifier: MIT */
#include <vmm/version.h>

#define VMM_STR2(x) #x
#define VMM_STR(x) VMM_STR2(x)

unsigned vmm_version(void)
{
	return VMM_VERSION_NUMBER;
}

const char *vmm_version_string(void)
{
	return VMM_STR(VMM_VERSION_MAJOR) "." VMM_STR(VMM_VERSION_MINOR) "." VMM_STR(
		VMM_VERSION_PATCH);
}
