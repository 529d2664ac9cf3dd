// Package scanout is the buffer path between a GPU that renders and a
// display that scans out, when they are different devices (Raspberry Pi 4/5:
// v3d renders, vc4 displays).
//
// Render targets come from the first allocation Strategy that works: a
// DMA-BUF heap (contiguous CMA memory a display without an IOMMU can scan
// out), a buffer native to the render device, the legacy kmsro dumb buffer
// on the display, or udmabuf. Each Buffer is imported into the render
// Device (PRIME) and handed to a Presenter, which tries direct scanout
// (import into the display, ADDFB2, atomic TEST_ONLY) once per buffer and
// remembers the answer; when the display refuses, the Presenter copies only
// the damaged region into a small swapchain of dumb buffers the display owns.
// Every buffer carries a Verdict saying which path it took and why.
package scanout
