;; Non-trapping float-to-int conversions.
(module
  (func (export "f") (param f64) (result i64)
    local.get 0
    i64.trunc_sat_f64_u))
