;; v128 appears only in a signature and a local: still a SIMD module.
(module
  (func (export "f") (param v128) (local v128)))
