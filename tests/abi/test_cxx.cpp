// SPDX-License-Identifier: MIT
// The public headers from C++11: every header compiles with extern "C"
// linkage, and a C++ program drives the library through them.
#include <vmm/vmm.h>
#include <vmm/common.h>
#include <vmm/config.h>
#include <vmm/cpu.h>
#include <vmm/errors.h>
#include <vmm/file.h>
#include <vmm/gfp.h>
#include <vmm/highmem.h>
#include <vmm/slab.h>
#include <vmm/machine.h>
#include <vmm/mm.h>
#include <vmm/page.h>
#include <vmm/stats.h>
#include <vmm/task.h>
#include <vmm/version.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

static_assert(std::is_standard_layout<struct vmm_config>::value, "vmm_config is a C struct");
static_assert(std::is_trivially_copyable<struct vmm_zone_info>::value,
	      "vmm_zone_info is a C struct");
static_assert(sizeof(vmm_paddr_t) == 8, "physical addresses are 64-bit");

namespace {

int failures;

void expect(bool ok, const char *what)
{
	if (!ok) {
		std::fprintf(stderr, "FAIL: %s\n", what);
		failures++;
	}
}

// A machine owned the C++ way; vmm_machine_destroy() takes the handle's address.
struct machine_deleter {
	void operator()(vmm_machine *m) const
	{
		vmm_machine_destroy(&m);
	}
};
using machine_ptr = std::unique_ptr<vmm_machine, machine_deleter>;

// Everything vmm_dump() wrote to a temporary file.
std::string dump_to_string(vmm_machine *m, vmm_dump_kind kind)
{
	std::unique_ptr<FILE, int (*)(FILE *)> f(std::tmpfile(), std::fclose);
	std::string text;
	char buf[4096];
	size_t n;

	if (!f || vmm_dump(m, kind, f.get()) != 0)
		return text;
	std::rewind(f.get());
	while ((n = std::fread(buf, 1, sizeof(buf), f.get())) > 0)
		text.append(buf, n);
	return text;
}

} // namespace

int main()
{
	struct vmm_config cfg;
	vmm_machine *raw = nullptr;

	expect(vmm_version() == VMM_VERSION_NUMBER, "the loaded library matches the headers");
	vmm_config_init(&cfg);
	expect(cfg.nodes == 2 && cfg.cpus == 4, "the default machine has 2 nodes and 4 CPUs");
	int err = vmm_machine_create(&cfg, &raw);
	expect(err == 0, "vmm_machine_create succeeds");
	if (err) {
		std::fprintf(stderr, "vmm_machine_create: %s\n", vmm_strerror(err));
		return 1;
	}
	machine_ptr m(raw);

	std::string meminfo = dump_to_string(m.get(), VMM_DUMP_MEMINFO);
	expect(meminfo.compare(0, 9, "MemTotal:") == 0, "meminfo starts with MemTotal:");
	expect(meminfo.find("\nMemFree:") != std::string::npos, "meminfo has MemFree:");
	expect(vmm_machine_check(m.get(), stderr) == 0, "vmm_machine_check finds no problem");

	struct vmm_zone_info zi;
	expect(vmm_zone_info(m.get(), 0, VMM_ZONE_DMA32, &zi) == 0 &&
		       std::strcmp(zi.name, "DMA32") == 0 && zi.managed_pages > 0,
	       "node 0 has a populated DMA32 zone");
	// the GFP composites are usable C++ constant expressions
	constexpr vmm_gfp_t gfp = VMM_GFP_KERNEL | VMM_GFP_COMP;
	struct vmm_page *pg = vmm_alloc_pages(m.get(), gfp, 2);
	expect(pg != nullptr && vmm_page_count(pg) == 1, "vmm_alloc_pages from C++");
	vmm_free_pages(m.get(), pg, 2);
	expect(vmm_machine_check(m.get(), stderr) == 0, "the allocation round trip is clean");
	// a bulk round trip: the array of pointers converts to the free's pointer-to-const
	struct vmm_page *bulk[8] = {};
	unsigned long got = vmm_alloc_pages_bulk(m.get(), VMM_GFP_KERNEL, -1, nullptr, 8, bulk);
	expect(got == 8, "vmm_alloc_pages_bulk from C++");
	vmm_free_pages_bulk(m.get(), got, bulk);
	expect(vmm_machine_check(m.get(), stderr) == 0, "the bulk round trip is clean");

	expect(vmm_machine_create(nullptr, &raw) == -VMM_EINVAL && raw == nullptr,
	       "a NULL config is rejected");

	m.reset();
	vmm_machine_destroy(nullptr); // accepted, does nothing
	if (failures)
		return 1;
	std::printf("C++ embedding ok (libvmm %s)\n", vmm_version_string());
	return 0;
}
