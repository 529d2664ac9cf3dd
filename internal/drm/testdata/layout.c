/* Struct sizes and field offsets of the DRM UAPI, read back by
 * layout_test.go from the object file's symbol sizes (no need to run it, so
 * any cross compiler works). Offsets are stored +1 so offset 0 is not a
 * zero-sized array. */
#include <stddef.h>
#include <drm/drm.h>
#include <drm/drm_mode.h>

#define SZ(T) char sz__##T[sizeof(struct T)];
#define OFF(T, f) char off__##T##__##f[offsetof(struct T, f) + 1];

SZ(drm_version) OFF(drm_version, name_len) OFF(drm_version, desc)
SZ(drm_gem_close)
SZ(drm_get_cap)
SZ(drm_set_client_cap)
SZ(drm_prime_handle) OFF(drm_prime_handle, fd)
SZ(drm_mode_card_res) OFF(drm_mode_card_res, count_fbs) OFF(drm_mode_card_res, max_height)
SZ(drm_mode_modeinfo) OFF(drm_mode_modeinfo, vrefresh) OFF(drm_mode_modeinfo, name)
SZ(drm_mode_crtc) OFF(drm_mode_crtc, mode_valid) OFF(drm_mode_crtc, mode)
SZ(drm_mode_get_encoder)
SZ(drm_mode_get_connector) OFF(drm_mode_get_connector, count_modes) OFF(drm_mode_get_connector, subpixel)
SZ(drm_mode_get_property) OFF(drm_mode_get_property, name) OFF(drm_mode_get_property, count_enum_blobs)
SZ(drm_mode_property_enum) OFF(drm_mode_property_enum, name)
SZ(drm_mode_get_blob) OFF(drm_mode_get_blob, data)
SZ(drm_mode_create_blob) OFF(drm_mode_create_blob, blob_id)
SZ(drm_mode_destroy_blob)
SZ(drm_mode_create_dumb) OFF(drm_mode_create_dumb, size)
SZ(drm_mode_map_dumb) OFF(drm_mode_map_dumb, offset)
SZ(drm_mode_destroy_dumb)
SZ(drm_mode_get_plane_res) OFF(drm_mode_get_plane_res, count_planes)
SZ(drm_mode_get_plane) OFF(drm_mode_get_plane, format_type_ptr)
SZ(drm_mode_fb_cmd2) OFF(drm_mode_fb_cmd2, offsets) OFF(drm_mode_fb_cmd2, modifier)
SZ(drm_mode_obj_get_properties) OFF(drm_mode_obj_get_properties, obj_type)
SZ(drm_mode_atomic) OFF(drm_mode_atomic, objs_ptr) OFF(drm_mode_atomic, user_data)
SZ(drm_event) 
SZ(drm_event_vblank) OFF(drm_event_vblank, user_data) OFF(drm_event_vblank, crtc_id)
SZ(drm_format_modifier_blob)
SZ(drm_format_modifier) OFF(drm_format_modifier, offset) OFF(drm_format_modifier, modifier)
