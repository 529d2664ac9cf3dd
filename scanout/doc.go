// Package scanout is the buffer path between a GPU that renders and a
// display that scans out, when they are different devices (Raspberry Pi 4/5:
// v3d renders, vc4 displays).
//
// How the types fit, in the order a compositor uses them:
//
//   - Devices: the display (a KMS primary node, absent when headless) and
//     the render node paired with it, resolved once by OpenDevices — or
//     wrapped from fds a seat hands out with NewDevice, the render node
//     then chosen by OpenRender. Both choose by trying (ChooseRender): one
//     through which no render target allocates, imports and tests is
//     passed over, down to none (CPU rendering). Devices.Placement says
//     whether the display (behind an IOMMU or not) wants render-native
//     targets or CMA first. Every other piece takes these values. A
//     host-rendered device (virtio-gpu with virgl: it draws in the host's
//     GL, so its buffers' guest pages are stale for a CPU copy or another
//     device) is kept only in the single-device shape, its own display
//     scanning its targets out directly (ErrHostRendered).
//   - Strategy and Allocator: render targets come from the first
//     allocation Strategy that works — a DMA-BUF heap (contiguous CMA
//     memory a display without an IOMMU can scan out), a buffer native to
//     the render device (V3D_CREATE_BO, VIRTGPU_RESOURCE_CREATE), the legacy kmsro dumb buffer on the display, the
//     system heap, udmabuf, or CPU-only memfd — and each is imported into
//     the render Device (PRIME). Attempts say what failed and why.
//   - Swapchain: a few targets of one size, handed out with their age by
//     Next, which skips buffers that are busy and reports
//     ErrSwapchainExhausted when all are. Replace swaps a buffer the
//     display refused for one from a strategy it accepts.
//   - Buffer: one dma-buf with its layout. Its creator Closes it; whoever
//     else needs it alive holds a Lock (the Presenter while it is on
//     screen), so a buffer is never freed under the display. Per-owner
//     state (a framebuffer, a texture) hangs off it as an Addon.
//   - Presenter: shows Submissions on one KMS Pipeline with atomic
//     commits. It tries direct scanout once per buffer (import into the
//     display, ADDFB2, atomic TEST_ONLY) and remembers the answer; when the
//     display refuses, it copies only the damaged region into a small
//     swapchain of dumb buffers the display owns. Every buffer carries a
//     Verdict saying which path it took and why; WaitFlip returns the Flip
//     once the frame is on screen.
//
// Nothing here reads the environment or flags: settings are values
// (AllocatorConfig, PresenterOptions, DevicesConfig).
package scanout
