"""C++ code generation for .proto files with Debian's protoc and grpc_cpp_plugin (offline; Bazel 4's
proto rules would need downloads)."""

def sigil_proto_library(name, srcs, deps = [], grpc = False, **kwargs):
    """Compiles `srcs` (paths below proto/) into a cc_library `name`.

    Args:
      name: the cc_library.
      srcs: .proto files of one proto package, relative to the proto/ folder.
      deps: sigil_proto_library targets whose .proto files these import.
      grpc: also generate gRPC service stubs.
      **kwargs: passed to the cc_library (visibility, testonly).
    """
    outs = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    cmd = ("protoc -Iproto -I/usr/include --cpp_out=$(GENDIR)/proto " +
           ("--grpc_out=$(GENDIR)/proto --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin " if grpc else "") +
           " ".join(["proto/" + s for s in srcs]))
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = outs,
        cmd = cmd,
        visibility = ["//visibility:private"],
    )
    native.filegroup(
        name = name + "_srcs",
        srcs = srcs + [d + "_srcs" for d in deps],
        visibility = ["//visibility:public"],
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        includes = ["."],
        deps = deps + ["@grpc//:lib"],
        **kwargs
    )
