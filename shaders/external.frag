// external.frag: a client dma-buf imported as an EGLImage that only an
// external-OES sampler can read (YUV, or formats the driver marks
// external-only). The driver converts to RGB; SWAP and OPAQUE as in
// tex.frag.
#extension GL_OES_EGL_image_external : require
#ifdef GL_FRAGMENT_PRECISION_HIGH
precision highp float;
#else
precision mediump float;
#endif

uniform samplerExternalOES tex;
uniform vec4 alpha;
varying vec2 uv;

void main() {
	vec4 c = texture2D(tex, uv);
#ifdef SWAP
	c = c.bgra;
#endif
#ifdef OPAQUE
	c.a = 1.0;
#endif
	gl_FragColor = c * alpha;
}
