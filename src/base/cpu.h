// What the CPU this process runs on can do, asked once. Kernels pick a SIMD path with it;
// every path gives the same bytes, so the answer changes speed only.
#pragma once

namespace lucid {

// True on x86-64 CPUs with AVX2 (and the OS saving its registers).
bool CpuHasAvx2();

// True on x86-64 CPUs with AVX-512 F, BW, VL and VNNI (vpdpbusd) and the OS saving the
// 512-bit state (the compiler's cpu check includes XCR0).
bool CpuHasAvx512Vnni();

}  // namespace lucid
