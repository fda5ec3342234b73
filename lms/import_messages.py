"""Vietnamese explanations of package-import error codes, for the admin upload page.

The engine's own message (English, technical, naming the file and line) is shown under it.
"""

IMPORT_ERRORS_VI: dict[str, str] = {
    "not_a_zip": "Tệp tải lên không phải tệp .zip hợp lệ.",
    "zip_corrupt": "Tệp .zip bị hỏng (dữ liệu không khớp mã kiểm tra).",
    "encrypted": "Gói có tệp được mã hóa bằng mật khẩu; hãy nén lại không đặt mật khẩu.",
    "unsupported_compression": (
        "Gói dùng kiểu nén không được hỗ trợ; hãy nén lại bằng ZIP thông thường."
    ),
    "manifest_missing": "Không tìm thấy imsmanifest.xml ở thư mục gốc của gói.",
    "xml_malformed": "imsmanifest.xml bị lỗi cú pháp XML.",
    "xml_forbidden": (
        "imsmanifest.xml chứa khai báo DOCTYPE/ENTITY không được phép (nguy cơ bảo mật)."
    ),
    "manifest_invalid": "imsmanifest.xml thiếu hoặc sai thông tin bắt buộc.",
    "unsupported_version": "Định dạng gói không phải SCORM 1.2 hoặc SCORM 2004.",
    "file_missing": "imsmanifest.xml khai báo một tệp không có trong gói.",
    "path_escape": "Gói có đường dẫn thoát ra ngoài thư mục gói (../).",
    "absolute_path": "Gói có đường dẫn tuyệt đối, không được phép.",
    "symlink": "Gói có liên kết tượng trưng (symlink), không được phép.",
    "duplicate_entry": "Gói có hai tệp trùng tên.",
    "too_many_files": "Gói có quá nhiều tệp.",
    "too_large": "Gói quá lớn khi giải nén.",
    "compression_ratio": "Tỉ lệ nén bất thường (nghi là \"bom zip\").",
    "package_not_found": "Không tìm thấy học phần cần thêm phiên bản.",
}


def explain(code: str) -> str:
    return IMPORT_ERRORS_VI.get(code, "Gói không hợp lệ.")
