/*
 * The version-1 fields as the current header lays them out, for
 * check_v1.c (which sees only the frozen version-1 header).
 */
#include <stddef.h>

#include <nettask.h>

#include "fields_v1.h"

const abi_field abi_current_v1_fields[] = {NETTASK_V1_FIELDS(ABI_FIELD)};
const size_t abi_current_v1_field_count = sizeof abi_current_v1_fields / sizeof abi_current_v1_fields[0];
