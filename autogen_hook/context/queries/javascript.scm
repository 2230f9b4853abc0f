; Tags for the repo map (see python.scm for the capture names).

(program (function_declaration name: (identifier) @name) @definition.function)
(program (generator_function_declaration name: (identifier) @name) @definition.function)
(program (class_declaration name: (identifier) @name) @definition.class)
(program (lexical_declaration (variable_declarator name: (identifier) @name)) @definition.constant)
(program (variable_declaration (variable_declarator name: (identifier) @name)) @definition.constant)
(program (export_statement declaration: (function_declaration name: (identifier) @name)) @definition.function)
(program (export_statement declaration: (generator_function_declaration name: (identifier) @name)) @definition.function)
(program (export_statement declaration: (class_declaration name: (identifier) @name)) @definition.class)
(program (export_statement declaration: (lexical_declaration (variable_declarator name: (identifier) @name))) @definition.constant)
