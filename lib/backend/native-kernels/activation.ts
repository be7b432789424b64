/** tfjs fused-activation names → the codes native/src/dnnl-util.h defines (prelu has none: JS handles it). */
export const ACTIVATION_CODES: Record<string, number> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  leakyrelu: 3,
  sigmoid: 4,
  elu: 5,
};

/** The code for an activation attr, or undefined when the native kernels cannot fuse it. */
export function activationCode(activation: unknown): number | undefined {
  const name = activation === undefined || activation === null ? 'linear' : String(activation);
  return ACTIVATION_CODES[name];
}
