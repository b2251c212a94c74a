// placeholder; written by the verifier test work
