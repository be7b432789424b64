export { initBackend, setBackendLogger, BackendInfo, BackendName, BackendHint, LARGE_MODEL_BYTES } from './select';
export { conv2dFilterGradIm2col, registerWasmConvGradient } from './wasm-gradients';
