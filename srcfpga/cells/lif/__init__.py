"""The LIF family (IF, LIF, CubaLIF) as cells: layer, golden step, float and QAT modules, quantizer, HDL engine."""
