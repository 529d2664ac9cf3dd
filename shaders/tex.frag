// tex.frag: a textured quad. Defines: SWAP swaps red and blue (32-bit
// DRM formats uploaded as bytes into an RGBA texture, drawn into a target
// whose red is red, or the reverse); OPAQUE ignores the texture's alpha
// (RGBX). The result is premultiplied and multiplied by alpha.
#ifdef GL_FRAGMENT_PRECISION_HIGH
precision highp float;
#else
precision mediump float;
#endif

uniform sampler2D tex;
uniform vec4 alpha; // alpha in every component
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
