"""Data structures: the ReID data sample and the body-part label schemes."""
from .part_schemes import (
                           ATOM_ID,
                           ATOMS,
                           PART_SCHEMES,
                           PartScheme,
                           get_part_scheme,
                           register_part_scheme,
                           regroup_lut,
)
from .pifpaf import (
                           PIFPAF_FIELDS,
                           fields_to_label_map,
                           group_fields,
                           pifpaf_grouping,
                           resolve_pifpaf_scheme,
)
from .reid_data_sample import ReIDDataSample, fill_predictions

__all__ = ['ReIDDataSample', 'fill_predictions', 'PartScheme', 'PART_SCHEMES', 'ATOMS', 'ATOM_ID',
           'get_part_scheme', 'register_part_scheme', 'regroup_lut', 'PIFPAF_FIELDS',
           'group_fields', 'fields_to_label_map', 'pifpaf_grouping', 'resolve_pifpaf_scheme']
