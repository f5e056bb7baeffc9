from .partial_teacher import TEACHER_BRANCHES, PartialTeacher, detector_num_classes

__all__ = ['PartialTeacher', 'TEACHER_BRANCHES', 'detector_num_classes']
