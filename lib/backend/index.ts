export { initBackend, setBackendLogger, BackendInfo, BackendName } from './select';
export { conv2dFilterGradIm2col, registerWasmConvGradient } from './wasm-gradients';
