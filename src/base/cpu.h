// What the CPU this process runs on can do, asked once. Kernels pick a SIMD path with it;
// every path gives the same bytes, so the answer changes speed only.
#pragma once

namespace lucid {

// True on x86-64 CPUs with AVX2 (and the OS saving its registers).
bool CpuHasAvx2();

}  // namespace lucid
