{
  "targets": [
    {
      "target_name": "detex_native",
      "sources": [
        "src/addon.cc", "src/conv.cc", "src/matmul.cc", "src/binary.cc",
        "src/reduce.cc", "src/slice.cc", "src/transpose.cc", "src/unary.cc", "src/attention.cc", "src/norm.cc",
        "src/encoder-block.cc", "src/resample.cc", "src/adamw.cc"
      ],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fopenmp"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
