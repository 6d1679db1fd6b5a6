// KBINDEX_EXPORT marks what libkbindex.so exports: the public API in include/kbindex/ and
// nothing else (everything is built with -fvisibility=hidden).
#pragma once

#if defined(__GNUC__)
#define KBINDEX_EXPORT __attribute__((visibility("default")))
#else
#define KBINDEX_EXPORT
#endif
