#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Keep libvmm's ABI in step with its headers.

  check-map.py map --headers DIR --map vmm.map --nm NM LIBVMM.so
      The functions declared VMM_API in DIR/*.h, the global list of the version
      script and the dynamic symbols the shared library defines must be the
      same three sets.

  check-map.py allocator --nm NM LIB...
      No library exports an allocator entry point (malloc, free, jemalloc's
      API, C++ operator new/delete...): libvmm's host allocator stays private.
      A shared library is read with nm -D, a static archive with nm -g.

  check-map.py headers --headers DIR NAME...
      The NAMEs (the headers tests/abi/meson.build compiles alone) are exactly
      the headers in DIR.

Each difference is printed; the exit status is 1 when there is any.
"""

import argparse
import os
import re
import subprocess
import sys

# What the C library's allocator exports, and jemalloc's extras.
ALLOCATOR_NAMES = {
    'malloc', 'free', 'calloc', 'realloc', 'reallocarray', 'posix_memalign',
    'aligned_alloc', 'memalign', 'valloc', 'pvalloc', 'malloc_usable_size',
    'malloc_stats_print', 'malloc_message', 'malloc_conf', 'mallocx', 'rallocx',
    'xallocx', 'sallocx', 'dallocx', 'sdallocx', 'nallocx', 'mallctl',
    'mallctlnametomib', 'mallctlbymib', 'cfree', 'free_sized', 'free_aligned_sized',
    '__libc_malloc', '__libc_free', '__libc_calloc', '__libc_realloc',
    '__libc_memalign', '__libc_valloc', '__libc_pvalloc', '__free_hook',
    '__malloc_hook', '__realloc_hook', '__memalign_hook',
}
# jemalloc's prefixed builds and internals, C++ operator new / delete.
ALLOCATOR_PREFIXES = ('je_', '_rjem_', 'jemalloc', 'mallctl', '_Znw', '_Zna', '_Zdl', '_Zda')


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    return re.sub(r'//[^\n]*', ' ', text)


def strip_preprocessor(text):
    """Drop preprocessor lines, continuation lines included."""
    out, in_directive = [], False
    for line in text.split('\n'):
        if in_directive or line.lstrip().startswith('#'):
            in_directive = line.rstrip().endswith('\\')
            continue
        out.append(line)
    return '\n'.join(out)


def api_functions(header_dir):
    """{function: header} for every function declared with VMM_API."""
    funcs = {}
    for name in sorted(os.listdir(header_dir)):
        if not name.endswith('.h'):
            continue
        with open(os.path.join(header_dir, name), encoding='utf-8') as f:
            text = strip_preprocessor(strip_comments(f.read()))
        # VMM_API <return type> name(  -- the name is the last identifier before '('.
        for m in re.finditer(r'\bVMM_API\b([^;{(]*)\(', text):
            idents = re.findall(r'[A-Za-z_]\w*', m.group(1))
            if idents:
                funcs[idents[-1]] = name
    return funcs


def map_globals(map_path):
    """The names listed under global: in the version script, and any wildcard seen."""
    with open(map_path, encoding='utf-8') as f:
        text = strip_comments(f.read())
    names, wildcards, section = set(), [], None
    for token in re.findall(r'[^\s;{}]+|[{};]', text):
        if token in ('global:', 'local:'):
            section = token[:-1]
        elif token == '}':
            section = None
        elif token in ('{', ';') or section != 'global':
            continue
        elif re.fullmatch(r'[A-Za-z_]\w*', token):
            names.add(token)
        else:
            wildcards.append(token)
    return names, wildcards


def nm_defined(nm, lib):
    """Defined global symbols of a shared library (dynamic table) or a static archive."""
    if lib.endswith('.a'):
        cmd = [nm, '-g', '--defined-only', lib]
    else:
        cmd = [nm, '-D', '--defined-only', lib]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    syms = set()
    for line in out.splitlines():
        fields = line.split()
        # "ADDRESS TYPE NAME"; archive member headers and blank lines have fewer.
        if len(fields) < 3:
            continue
        kind, name = fields[-2], fields[-1]
        if kind == 'A':         # version node names (LIBVMM_0)
            continue
        syms.add(name.split('@')[0])
    return syms


def report(title, names, where=None):
    if not names:
        return 0
    print('%s:' % title)
    for name in sorted(names):
        print('    %s%s' % (name, ' (%s)' % where[name] if where and name in where else ''))
    return 1


def check_map(args):
    api = api_functions(args.headers)
    listed, wildcards = map_globals(args.map)
    exported = nm_defined(args.nm, args.lib)
    bad = 0
    if wildcards:
        bad |= report('wildcards under global: in %s (list names)' % args.map, wildcards)
    bad |= report('declared VMM_API but missing from %s' % args.map, set(api) - listed, api)
    bad |= report('in %s but declared VMM_API in no header' % args.map, listed - set(api))
    bad |= report('declared VMM_API but not exported by %s' % args.lib, set(api) - exported, api)
    bad |= report('exported by %s but declared VMM_API in no header' % args.lib,
                  exported - set(api))
    if not bad:
        print('ok: %d functions: headers, %s and %s agree' %
              (len(api), os.path.basename(args.map), os.path.basename(args.lib)))
    return bad


def is_allocator_symbol(name):
    return name in ALLOCATOR_NAMES or name.startswith(ALLOCATOR_PREFIXES)


def check_allocator(args):
    bad = 0
    for lib in args.libs:
        leaked = {s for s in nm_defined(args.nm, lib) if is_allocator_symbol(s)}
        bad |= report('%s exports allocator symbols' % lib, leaked)
        if not leaked:
            print('ok: %s exports no allocator symbol' % os.path.basename(lib))
    return bad


def check_headers(args):
    present = {n for n in os.listdir(args.headers) if n.endswith('.h')}
    tested = set(args.names)
    bad = report('headers in %s not compiled alone (add them to tests/abi/meson.build)' %
                 args.headers, present - tested)
    bad |= report('listed in tests/abi/meson.build but not in %s' % args.headers,
                  tested - present)
    if not bad:
        print('ok: all %d public headers are compiled alone' % len(present))
    return bad


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command')
    sub.required = True

    p = sub.add_parser('map', help='headers vs version script vs exports')
    p.add_argument('--headers', required=True, help='include/vmm')
    p.add_argument('--map', required=True, help='vmm.map')
    p.add_argument('--nm', default='nm')
    p.add_argument('lib', help='the shared library')
    p.set_defaults(func=check_map)

    p = sub.add_parser('allocator', help='no allocator symbol is exported')
    p.add_argument('--nm', default='nm')
    p.add_argument('libs', nargs='+', help='shared libraries or static archives')
    p.set_defaults(func=check_allocator)

    p = sub.add_parser('headers', help='every public header is compiled alone')
    p.add_argument('--headers', required=True, help='include/vmm')
    p.add_argument('names', nargs='*', help='the headers compiled alone')
    p.set_defaults(func=check_headers)

    args = parser.parse_args()
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
