"""Pure-Python/numpy parts of the add-on (no bpy): MakeHuman data, phenotypes, BVH, retargeting, poses."""
