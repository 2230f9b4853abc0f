; Tags for the repo map (see python.scm for the capture names).

(source_file (function_item name: (identifier) @name) @definition.function)
(source_file (struct_item name: (type_identifier) @name) @definition.class)
(source_file (enum_item name: (type_identifier) @name) @definition.enum)
(source_file (trait_item name: (type_identifier) @name) @definition.interface)
(source_file (type_item name: (type_identifier) @name) @definition.type)
(source_file (const_item name: (identifier) @name) @definition.constant)
(source_file (static_item name: (identifier) @name) @definition.constant)
(source_file (impl_item type: (type_identifier) @name) @definition.impl)
